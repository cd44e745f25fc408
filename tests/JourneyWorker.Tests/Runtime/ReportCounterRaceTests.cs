using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static JourneyWorker.Tests.Journeys.ReportCounterTests;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Two workers (each with its own write gate and, on PostgreSQL, its own counter shard) and the event intake writing
/// the same journey's counters at once: the counts stay exact.
/// </summary>
public sealed class ReportCounterRaceTests
{
    [Fact]
    public async Task Two_workers_and_the_intake_writing_at_once_keep_the_counts_exact()
    {
        const int Profiles = 200;
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "optout");
        var (journey, _) = await StartReadAudienceAsync(h, Profiles, "m", """ "exit": [{"event": "optout"}] """.Trim(),
            Mail("m", "w"), """{"id": "w", "type": "wait", "duration": "P1D", "next": "m2"}""", Mail("m2", subject: "Second"));
        var a = Worker(h, "worker-a", 1);
        var b = Worker(h, "worker-b", 2);

        // Exits come in while the workers run: some instances are still active, some already wait.
        var exits = Task.Run(async () =>
        {
            for (var n = 1; n <= Profiles; n += 10)
            {
                await EventAsync(h, "optout", n);
            }
        }, Ct);
        var ran = await Task.WhenAll(Task.Run(() => a.DrainAsync(Ct), Ct), Task.Run(() => b.DrainAsync(Ct), Ct));
        await exits;
        Assert.True(ran.Sum() >= Profiles - Profiles / 10);
        var report = await AssertSameAsync(h, journey);
        Assert.Equal(Profiles / 10, report["instances"]!["exited"]!.GetValue<int>());
        Assert.Equal(Profiles - Profiles / 10, Count(report, "w", "waitingNow"));

        h.Advance(TimeSpan.FromDays(1));
        await Task.WhenAll(Task.Run(() => a.DrainAsync(Ct), Ct), Task.Run(() => b.DrainAsync(Ct), Ct));
        report = await AssertSameAsync(h, journey);
        Assert.Equal((Profiles - Profiles / 10, 0), (report["instances"]!["completed"]!.GetValue<int>(), Count(report, "w", "waitingNow")));
        Assert.Equal(Profiles - Profiles / 10, Count(report, "m2", "succeeded"));

        if (TestProvider.IsPostgreSql)
        {
            // Each worker wrote its own rows: both shards hold counts of the wait.
            await using var db = h.App.Db();
            var shards = await db.NodeCounters.Where(c => c.NodeId == "w" && c.Succeeded > 0).Select(c => c.Shard).ToListAsync(Ct);
            Assert.Contains(1, shards);
            Assert.Contains(2, shards);
        }
    }

    /// <summary>A worker of its own (runner, claims, write gate) writing counter shard <paramref name="shard"/> on PostgreSQL.</summary>
    private static InstancePoller Worker(EngineHarness h, string workerId, int shard)
    {
        var services = h.App.Services;
        var options = Options.Create(new RuntimeOptions { WorkerId = workerId, BatchSize = 20, Parallelism = 2 });
        InstanceSql sql = TestProvider.IsPostgreSql ? new PostgreSqlInstanceSql { CounterShard = shard } : new SqliteInstanceSql();
        var writes = new WriteGate();
        var store = new InstanceStore(services.GetRequiredService<IServiceScopeFactory>(), writes, services.GetRequiredService<JourneyCatalog>(), sql);
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
}
