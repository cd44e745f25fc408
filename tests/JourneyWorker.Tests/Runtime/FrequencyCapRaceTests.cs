using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static JourneyWorker.Tests.Runtime.CapScenario;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Two workers (each with its own store and write gate, as two processes have) run batches for the same profiles at
/// the same time, one e-mail a week allowed: however their checkpoints and sends interleave, each profile gets one.
/// </summary>
public sealed class FrequencyCapRaceTests
{
    private sealed record Worker(string Id, InstanceStore Store, InstanceRunner Runner);

    private static Worker NewWorker(EngineHarness h, string id)
    {
        var services = h.App.Services;
        var store = new InstanceStore(services.GetRequiredService<IServiceScopeFactory>(), new WriteGate(), services.GetRequiredService<JourneyCatalog>(),
            services.GetRequiredService<InstanceSql>());
        var runner = new InstanceRunner(store, services.GetRequiredService<MessageDispatcher>(),
            services.GetRequiredService<JourneyWorker.Channels.Templates.TemplateRenderer>(), services.GetRequiredService<ProfileTimeZones>(),
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<JourneyTelemetry>(),
            Options.Create(new RuntimeOptions { WorkerId = id, Parallelism = 4 }), services.GetRequiredService<ILogger<InstanceRunner>>());
        return new Worker(id, store, runner);
    }

    /// <summary>
    /// Journey A's instances for profiles 1..n come due a second before journey B's: worker A claims A's, worker B
    /// claims B's. Returns the two journeys and the claims.
    /// </summary>
    private static async Task<(Guid A, Guid B, List<long> ClaimedA, List<long> ClaimedB)> TwoJourneysClaimedAsync(EngineHarness h, int profiles, Worker a, Worker b)
    {
        await PutRulesAsync(h, OneMailAWeek);
        await h.ImportAsync(ProfilesNdjson(profiles), Ct);
        var audience = await AudienceAsync(h);
        var journeyA = await ReadJourneyAsync(h, audience, "m", Message("m", "A", cappedNext: "capped"), """{"id": "capped", "type": "end"}""");
        h.Advance(TimeSpan.FromSeconds(1));
        var journeyB = await ReadJourneyAsync(h, audience, "m", Message("m", "B", cappedNext: "capped"), """{"id": "capped", "type": "end"}""");

        var now = h.App.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var claimedA = await a.Store.ClaimAsync(a.Id, profiles, now, now + 120_000, Ct);
        var claimedB = await b.Store.ClaimAsync(b.Id, profiles, now, now + 120_000, Ct);
        Assert.Equal((await InstancesAsync(h, journeyA)).Select(i => i.Id).Order(), claimedA.Order());
        Assert.Equal((await InstancesAsync(h, journeyB)).Select(i => i.Id).Order(), claimedB.Order());
        return (journeyA, journeyB, claimedA, claimedB);
    }

    [Fact]
    public async Task A_batch_checkpointed_while_another_is_still_sending_to_the_same_profiles_is_capped()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        Worker a = NewWorker(h, "worker-a"), b = NewWorker(h, "worker-b");
        const int Profiles = 10;
        var (journeyA, journeyB, claimedA, claimedB) = await TwoJourneysClaimedAsync(h, Profiles, a, b);

        // A's e-mails are checkpointed (pending) and on the wire, their SMTP replies held back, when B runs from start to end.
        var onTheWire = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Smtp.OnReceived = async _ =>
        {
            onTheWire.TrySetResult();
            await release.Task;
        };
        var runA = a.Runner.RunBatchAsync(claimedA, a.Id, Ct);
        try
        {
            await onTheWire.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            // Were B to send, its mail would wait for the release too, and this would time out.
            Assert.Equal(Profiles, await b.Runner.RunBatchAsync(claimedB, b.Id, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));
        }
        finally
        {
            release.TrySetResult();
        }
        Assert.Equal(Profiles, await runA);

        var mails = await h.Smtp.WaitForMessagesAsync(Profiles, cancellationToken: Ct);
        Assert.Equal(Profiles, mails.Count);
        Assert.All(mails, m => Assert.Equal("A", m.Message.Subject));
        Assert.All(await InstancesAsync(h, journeyB), i => Assert.Equal(InstanceStatus.Completed, i.Status));
        foreach (var instance in await InstancesAsync(h, journeyB))
        {
            Assert.Equal(["m:entered", "m:skipped", "capped:entered", "capped:succeeded"], (await TraceAsync(h, instance.Id))[2..]);
        }
        Assert.All(await InstancesAsync(h, journeyA), i => Assert.Equal(InstanceStatus.Completed, i.Status));
    }

    [Fact]
    public async Task Two_batches_racing_for_the_same_profiles_never_both_send()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        Worker a = NewWorker(h, "worker-a"), b = NewWorker(h, "worker-b");
        const int Profiles = 40;
        var (_, _, claimedA, claimedB) = await TwoJourneysClaimedAsync(h, Profiles, a, b);

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = new[] { (a, claimedA), (b, claimedB) }.Select(async w =>
        {
            await start.Task;
            return await w.Item1.Runner.RunBatchAsync(w.Item2, w.Item1.Id, Ct);
        }).ToList();
        start.SetResult();
        var ran = await Task.WhenAll(runs);
        Assert.Equal([Profiles, Profiles], ran);

        await h.Smtp.WaitForMessagesAsync(Profiles, cancellationToken: Ct);
        await Task.Delay(200, Ct); // a second e-mail to anyone would be here by now
        var perProfile = h.Smtp.Messages.GroupBy(m => m.To.Single()).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Profiles, perProfile.Count);
        Assert.All(perProfile, p => Assert.Equal(1, p.Value));
        await using var db = h.App.Db();
        Assert.Equal(Profiles, await db.OutboxMessages.CountAsync(m => m.Status == OutboxStatus.Sent, Ct));
        Assert.Equal(Profiles, await db.OutboxMessages.CountAsync(m => m.Status == OutboxStatus.Skipped && m.Error == "frequency cap email 1 per P7D", Ct));
    }
}
