using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Testing;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Reliability;

/// <summary>The multi-process tests run alone: three services, PostgreSQL and the load would skew every test beside them.</summary>
[CollectionDefinition(nameof(ClusterCollection), DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>
/// Several real JourneyWorker processes (the built service, started with <c>dotnet JourneyWorker.dll</c>) on one
/// PostgreSQL database, e-mail going to an SMTP counter on loopback. Needs JOURNEYWORKER_TEST_POSTGRES (see
/// <see cref="PostgreSqlDatabase"/>); skipped without it.
/// </summary>
[Collection(nameof(ClusterCollection))]
public sealed class ClusterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Say(string line)
    {
        var stamped = $"[{DateTime.UtcNow:HH:mm:ss.fff}] {line}";
        TestContext.Current.TestOutputHelper?.WriteLine(stamped);
        Console.Error.WriteLine(stamped);
    }

    /// <summary>
    /// The worker running a Read Audience is SIGKILLed halfway through: another worker's clustered scheduler recovers
    /// that firing once Quartz sees the dead worker miss its check-ins, and the read finishes there. Everyone in the
    /// audience is admitted exactly once, without any worker restarting.
    /// </summary>
    [Fact]
    public async Task A_read_cut_off_by_a_killed_worker_is_finished_by_another_worker()
    {
        const int Count = 3_000;
        var deadline = DateTime.UtcNow.AddMinutes(4);
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var smtp = new SmtpCounter();
        await using var cluster = await WorkerCluster.StartAsync(pg.ConnectionString, smtp, 2, null, Ct);
        var admin = cluster.Client(0);
        var ndjson = new StringBuilder();
        for (var n = 0; n < Count; n++)
        {
            ndjson.Append(Profile($"p{n}@example.com", "Seattle"));
        }
        Assert.Equal(Count, await WorkerCluster.ImportAsync(admin, ndjson.ToString(), Ct));
        var audience = await AudienceAsync(admin, "homeAddress.city = \"Seattle\"");
        // 200 profiles a second: the read takes 15 s, long enough to be cut off in the middle.
        var journey = Id(await WorkerCluster.PostAsync(admin, "/api/journeys", $$"""
            {"name": "Slow read", "start": "read", "nodes": [
              {"id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": {"frequency": "once"}, "throttle": 200, "next": "hold"},
              {"id": "hold", "type": "wait", "duration": "P1D"}]}
            """, Ct));
        await WorkerCluster.PostAsync(admin, $"/api/journeys/{journey}/publish", "{}", Ct);

        async Task<long> AdmittedAsync() =>
            await cluster.ScalarAsync<long>("""SELECT count(*) FROM "JourneyInstances" WHERE "JourneyId" = @j""", Ct, ("j", journey));
        ReadOccurrence? reading;
        while ((reading = cluster.ReadOccurrences().FirstOrDefault()) is null || await AdmittedAsync() < Count / 5)
        {
            Assert.True(DateTime.UtcNow < deadline, "the read did not start");
            await Task.Delay(100, Ct);
        }
        var reader = cluster.Workers.Single(w => w.Name == reading.WorkerId);
        await reader.KillAsync();
        var killed = Stopwatch.StartNew();
        var admittedAtKill = await AdmittedAsync();
        Say($"killed {reader.Name} mid-read with {admittedAtKill} of {Count} admitted");
        Assert.InRange(admittedAtKill, 1, Count - 1);

        while (await cluster.ScalarAsync<long>("""SELECT count(*) FROM "JourneyVersions" WHERE "JourneyId" = @j AND "AudienceReadAt" IS NOT NULL""", Ct, ("j", journey)) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the read was never finished: {await AdmittedAsync()} of {Count} admitted {killed.Elapsed.TotalSeconds:F0} s after the kill");
            await Task.Delay(250, Ct);
        }
        Say($"the read was finished by another worker {killed.Elapsed.TotalSeconds:F1} s after the kill");

        var recovered = Assert.Single(cluster.ReadOccurrences(), o => o.Recovering);
        Assert.NotEqual(reader.Name, recovered.WorkerId);
        Assert.Equal(reading.Occurrence, recovered.Occurrence);
        Assert.Equal(Count, await AdmittedAsync());
        Assert.Equal(Count, await cluster.ScalarAsync<long>("""SELECT count(DISTINCT "ProfileId") FROM "JourneyInstances" WHERE "JourneyId" = @j""", Ct, ("j", journey)));
    }

    /// <summary>One NDJSON line: a profile with an e-mail identity and a home city.</summary>
    private static string Profile(string email, string city) =>
        new JsonObject { ["identities"] = new JsonObject { ["email"] = email }, ["attributes"] = new JsonObject { ["homeAddress"] = new JsonObject { ["city"] = city } } }
            .ToJsonString() + "\n";

    private static Guid Id(JsonNode node) => Guid.Parse(node["id"]!.GetValue<string>());

    private static async Task<Guid> AudienceAsync(HttpClient admin, string rule) =>
        Id(await WorkerCluster.PostAsync(admin, "/api/audiences", new JsonObject { ["name"] = "aud-" + Guid.NewGuid().ToString("N")[..8], ["rule"] = rule }.ToJsonString(), Ct));
}
