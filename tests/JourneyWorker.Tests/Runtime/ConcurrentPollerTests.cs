using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>Several workers on one database: no instance runs twice, and an expired lease is taken over.</summary>
public sealed class ConcurrentPollerTests
{
    /// <summary>A worker of its own (its own runner and claims) on the app's services and database.</summary>
    private static InstancePoller Worker(EngineHarness h, string workerId, int batchSize = 25)
    {
        var services = h.App.Services;
        var options = Options.Create(new RuntimeOptions { WorkerId = workerId, BatchSize = batchSize, Parallelism = 4 });
        // Its own write gate, as another process would have: only the database's locking is shared.
        var writes = new WriteGate();
        var store = new InstanceStore(services.GetRequiredService<IServiceScopeFactory>(), writes, services.GetRequiredService<JourneyCatalog>(),
            services.GetRequiredService<InstanceSql>());
        var runner = new InstanceRunner(
            store,
            services.GetRequiredService<MessageDispatcher>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<JourneyMetrics>(),
            options,
            services.GetRequiredService<ILogger<InstanceRunner>>());
        return new InstancePoller(store, runner, services.GetRequiredService<TimeProvider>(), options,
            writes, services.GetRequiredService<IHostApplicationLifetime>());
    }

    [Fact]
    public async Task Two_pollers_on_one_database_run_every_instance_exactly_once()
    {
        const int Count = 300;
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, Count, "m", "", Mail("m"));
        var a = Worker(h, "worker-a");
        var b = Worker(h, "worker-b");

        var ran = await Task.WhenAll(Task.Run(() => a.DrainAsync(Ct), Ct), Task.Run(() => b.DrainAsync(Ct), Ct));

        Assert.Equal(Count, ran.Sum());
        var mails = await h.Smtp.WaitForMessagesAsync(Count, cancellationToken: Ct);
        Assert.Equal(Count, mails.Count);
        Assert.Equal(Count, mails.Select(m => m.Message.MessageId).Distinct().Count());
        Assert.Equal(Count, mails.Select(m => m.To.Single()).Distinct().Count());

        var instances = await InstancesAsync(h, journey);
        Assert.All(instances, i => Assert.Equal(InstanceStatus.Completed, i.Status));
        Assert.All(instances, i => Assert.Null(i.LeaseOwner));
        await using var db = h.App.Db();
        var steps = await db.InstanceSteps.AsNoTracking().Where(s => s.NodeId == "m").ToListAsync(Ct);
        Assert.Equal(2 * Count, steps.Count);
        Assert.Equal(2 * Count, steps.Select(s => (s.InstanceId, s.Outcome)).Distinct().Count());
        Assert.Equal(Count, await db.OutboxMessages.CountAsync(m => m.Status == "sent" && m.Attempts == 1, Ct));

        // More drains find nothing left to do.
        Assert.Equal(0, await a.DrainAsync(Ct) + await b.DrainAsync(Ct));
        Assert.Equal(Count, h.Smtp.Messages.Count);
    }

    [Fact]
    public async Task An_expired_lease_is_taken_over_and_the_old_owner_cannot_run_it()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));
        var a = Worker(h, "worker-a");
        var b = Worker(h, "worker-b");
        var lease = new RuntimeOptions().LeaseDuration;

        // Worker A claims and then "crashes": it never runs what it claimed.
        var claimed = Assert.Single(await a.ClaimAsync("worker-a", 10, Ct));
        Assert.Equal(0, await b.DrainAsync(Ct));
        h.Advance(lease - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await b.DrainAsync(Ct));

        h.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await b.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);

        // A comes back and tries to run its stale claim: nothing happens.
        var runner = h.App.Services.GetRequiredService<InstanceRunner>();
        await runner.RunAsync(claimed, "worker-a", Ct);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Completed, (string?)null), (instance.Status, instance.LeaseOwner));
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
        Assert.Single(h.Smtp.Messages);
    }
}
