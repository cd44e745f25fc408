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
    internal static InstancePoller Worker(EngineHarness h, string workerId, int batchSize = 25, int parallelism = 4)
    {
        var services = h.App.Services;
        var options = Options.Create(new RuntimeOptions { WorkerId = workerId, BatchSize = batchSize, Parallelism = parallelism });
        // Its own write gate, as another process would have: only the database's locking is shared.
        var writes = new WriteGate();
        var store = new InstanceStore(services.GetRequiredService<IServiceScopeFactory>(), writes, services.GetRequiredService<JourneyCatalog>(),
            services.GetRequiredService<InstanceSql>());
        var runner = new InstanceRunner(
            store,
            services.GetRequiredService<MessageDispatcher>(),
            services.GetRequiredService<JourneyWorker.Channels.Templates.TemplateRenderer>(),
            services.GetRequiredService<ProfileTimeZones>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<JourneyTelemetry>(),
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

    /// <summary>Eight instances, one batch of worker A in two rounds of four sent one at a time; the SMTP server can hold a message.</summary>
    private static async Task<(Guid Journey, InstancePoller A, InstancePoller B, Func<int, Task> HoldAsync, Action Release)> SlowBatchAsync(EngineHarness h)
    {
        var (journey, _) = await StartReadAudienceAsync(h, 8, "m", "", Mail("m"));
        var a = Worker(h, "worker-a", batchSize: 8, parallelism: 1);
        var b = Worker(h, "worker-b", batchSize: 8, parallelism: 1);
        var gate = new SemaphoreSlim(0);
        var holdAt = 0;
        var received = 0;
        h.Smtp.OnReceived = async _ =>
        {
            if (Interlocked.Increment(ref received) == Volatile.Read(ref holdAt))
            {
                await gate.WaitAsync(Ct);
            }
        };
        // Holds the n-th message at the server (the sender waits for its 250) and returns once it is there.
        async Task HoldAsync(int n)
        {
            Volatile.Write(ref holdAt, n);
            await h.Smtp.WaitForMessagesAsync(n, cancellationToken: Ct);
        }
        return (journey, a, b, HoldAsync, () => gate.Release());
    }

    [Fact]
    public async Task A_batch_slower_than_its_lease_keeps_its_claims_while_it_makes_progress_and_gives_up_a_round_that_stalls()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, a, b, holdAsync, release) = await SlowBatchAsync(h);
        var lease = new RuntimeOptions().LeaseDuration;
        var claimedUntil = h.App.Time.GetUtcNow() + lease;

        var holding = holdAsync(1);
        var draining = Task.Run(() => a.DrainAsync(Ct), Ct);
        await holding;
        h.Advance(lease * 0.4);
        holding = holdAsync(5);
        release();
        await holding;
        // The write that recorded the first round moved the second round's claims on.
        var renewedUntil = h.App.Time.GetUtcNow() + lease;
        await UntilAsync(async () =>
        {
            await using var db = h.App.Db();
            return await db.JourneyInstances.CountAsync(i => i.LeaseOwner == "worker-a" && i.LeaseUntil == renewedUntil.ToUnixTimeMilliseconds(), Ct) == 4;
        });

        // Past the lease A's claims had when it took them, B finds nothing to take over.
        h.Advance(lease * 0.7);
        Assert.True(h.App.Time.GetUtcNow() > claimedUntil);
        Assert.Equal(0, await b.DrainAsync(Ct));

        // The second round stalled for more than half a lease: A sends no more of it. Once those claims end, B sends the three.
        release();
        Assert.Equal(8, await draining);
        Assert.Equal(5, h.Smtp.Messages.Count);
        h.Advance(lease * 0.5);
        Assert.Equal(3, await b.DrainAsync(Ct));

        Assert.Equal(8, h.Smtp.Messages.Count);
        Assert.Equal(8, h.Smtp.Messages.Select(m => m.Message.MessageId).Distinct().Count());
        foreach (var instance in await InstancesAsync(h, journey))
        {
            Assert.Equal((InstanceStatus.Completed, (string?)null), (instance.Status, instance.LeaseOwner));
            Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true within 10 s");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task A_worker_whose_claims_ran_out_mid_batch_sends_nothing_more_and_the_other_sends_each_message()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, a, b, holdAsync, release) = await SlowBatchAsync(h);

        // A's first message stalls at the server until A's claims have run out; B takes all eight over and sends them.
        var holding = holdAsync(1);
        var draining = Task.Run(() => a.DrainAsync(Ct), Ct);
        await holding;
        h.Advance(new RuntimeOptions().LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Equal(8, await b.DrainAsync(Ct));
        release();
        await draining;

        // A sent nothing after that: the message already on its way is the only one that went out twice (same Message-ID).
        Assert.Equal(9, h.Smtp.Messages.Count);
        Assert.Equal(8, h.Smtp.Messages.Select(m => m.Message.MessageId).Distinct().Count());
        foreach (var instance in await InstancesAsync(h, journey))
        {
            Assert.Equal((InstanceStatus.Completed, (string?)null), (instance.Status, instance.LeaseOwner));
            Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
        }
    }
}
