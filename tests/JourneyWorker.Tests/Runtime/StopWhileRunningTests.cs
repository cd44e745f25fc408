using System.Net.Http.Json;
using System.Text;
using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace JourneyWorker.Tests.Runtime;

/// <summary>A journey stopped while a worker is in the middle of one of its instances (here: inside the send).</summary>
public sealed class StopWhileRunningTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An e-mail channel that holds each send until the test lets it go.</summary>
    private sealed class GatedEmail : IEmailSender
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return SendResult.Sent;
        }
    }

    private sealed class GatedApp(GatedEmail email) : JourneyWorkerApp
    {
        protected override void ConfigureTestServices(IServiceCollection services)
        {
            services.RemoveAll<IEmailSender>();
            services.AddSingleton<IEmailSender>(email);
        }
    }

    [Fact]
    public async Task Stopping_a_journey_during_a_run_exits_the_instance_and_the_worker_gives_it_up_quietly()
    {
        var email = new GatedEmail();
        await using var app = new GatedApp(email);
        app.With("Runtime:Enabled", "false");
        var admin = app.Admin();
        (await admin.PostAsync("/api/profiles/import", new StringContent(Engine.ProfilesNdjson(1), Encoding.UTF8, "application/x-ndjson"), Ct)).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/event-configs",
            new { name = "signup", idType = "ruleBased", condition = "kind = \"signup\"", @namespace = "email", profileIdentifier = "email" }, Ct)).EnsureSuccessStatusCode();
        var created = await (await admin.PostAsync("/api/journeys", new StringContent(Engine.Journey("e", "",
            """{"id": "e", "type": "event", "event": "signup", "next": "m"}""", Engine.Mail("m", "after"), Engine.Mail("after")), Encoding.UTF8, "application/json"), Ct))
            .OkAsync<System.Text.Json.Nodes.JsonObject>(201);
        var id = created["id"]!.GetValue<string>();
        (await admin.PostAsync($"/api/journeys/{id}/publish", null, Ct)).EnsureSuccessStatusCode();
        var accepted = await (await app.Ingest().PostAsJsonAsync("/api/events", new { kind = "signup", email = Engine.Email(1) }, Ct)).OkAsync<System.Text.Json.Nodes.JsonObject>(202);
        Assert.Equal(1, accepted["routed"]!.GetValue<int>());

        var drain = Task.Run(() => app.Services.GetRequiredService<InstancePoller>().DrainAsync(Ct), Ct);
        await email.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        (await admin.PostAsync($"/api/journeys/{id}/stop", null, Ct)).EnsureSuccessStatusCode();
        email.Release.SetResult();

        Assert.Equal(1, await drain); // the worker's late commit is refused without failing the drain
        await using var db = app.Db();
        var instance = await db.JourneyInstances.AsNoTracking().SingleAsync(Ct);
        Assert.Equal((InstanceStatus.Exited, "journeyStopped"), (instance.Status, instance.EndReason));
        var trace = await Engine.TraceAsync(app, instance.Id);
        Assert.Equal(["e:entered", "e:succeeded", "m:entered", "m:exited"], trace);
        Assert.Equal(0, await app.Services.GetRequiredService<InstancePoller>().DrainAsync(Ct));
    }
}
