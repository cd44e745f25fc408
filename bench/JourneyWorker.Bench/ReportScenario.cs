using System.Data.Common;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime.Store;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Bench;

/// <summary>
/// GET /api/journeys/{id}/report on a journey with N instances (3 in 5 completed through an e-mail, a wait and an end,
/// 2 in 5 waiting at the wait; 3 or 6 stored steps each), served from the per-version counters, against the same
/// report computed from the step history, the instances and the conversions (the report before the counters) in the
/// same run. The rows are generated in SQL; the counters are filled from them by the statement the migration runs.
/// </summary>
public static class ReportScenario
{
    private const string Name = "report";

    private const string Instances = """
        INSERT INTO "JourneyInstances" ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "Context",
                                        "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "EndedAt", "EndReason")
        SELECT @journey, @version, i,
               CASE WHEN i % 5 < 2 THEN 'waiting' ELSE 'completed' END, CASE WHEN i % 5 < 2 THEN 'w' END,
               CASE WHEN i % 5 < 2 THEN @far END, CASE WHEN i % 5 < 2 THEN 'wait' END, '{}',
               @false, CASE WHEN i % 5 < 2 THEN 5 ELSE 8 END, @far, @at,
               CASE WHEN i % 5 < 2 THEN NULL ELSE @at END, CASE WHEN i % 5 < 2 THEN NULL ELSE 'end' END
        FROM {series}
        """;

    private const string Steps = """
        WITH "v" ("Seq", "Node", "Outcome") AS (
            VALUES (2, 'm', 'entered'), (3, 'm', 'succeeded'), (4, 'w', 'entered'), (5, 'w', 'succeeded'), (6, 'done', 'entered'), (7, 'done', 'succeeded'))
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At")
        SELECT i."Id", v."Seq", v."Node", v."Outcome", @at
        FROM "JourneyInstances" i JOIN "v" v ON v."Seq" < i."NextSeq"
        WHERE i."JourneyVersionId" = @version
        """;

    public static async Task RunAsync(string folder, long n, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        using var host = new BenchHost(folder, postgres: postgres);
        host.Start();
        using var admin = host.Admin();
        // An audience nobody is in: the journey's Read Audience admits no one; its instances are generated.
        var audience = await Workload.CreateAudienceAsync(admin, "person.birthYear > 3000", ct);
        var (journeyId, versionId) = await Workload.PublishAsync(host, admin, $$"""
            { "name": "Bench report", "start": "read", "timeout": "P30D",
              "nodes": [
                { "id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": { "frequency": "once" }, "next": "m" },
                { "id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>", "next": "w" },
                { "id": "w", "type": "wait", "duration": "P1D", "next": "done" },
                { "id": "done", "type": "end" }
              ] }
            """, ct);

        Console.WriteLine($"  generating {n:N0} instances with their steps and counters (SQL)");
        var clock = Stopwatch.StartNew();
        await using (var connection = postgres is null ? (DbConnection)host.OpenConnection() : await postgres.OpenAsync(ct))
        {
            object Guid(Guid g) => postgres is null ? g.ToString().ToUpperInvariant() : g;
            var series = postgres is null
                ? "(WITH RECURSIVE \"s\" (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM \"s\" WHERE i < @n) SELECT i FROM \"s\") AS \"s\""
                : "generate_series(1, @n) AS i";
            var at = DateTime.UtcNow;
            await ExecuteAsync(connection, Instances.Replace("{series}", series, StringComparison.Ordinal), ct,
                ("@journey", Guid(journeyId)), ("@version", Guid(versionId)), ("@n", n), ("@far", 4_102_444_800_000L), ("@false", false), ("@at", at));
            await ExecuteAsync(connection, Steps, ct, ("@version", Guid(versionId)), ("@at", at));
            await ExecuteAsync(connection, """DELETE FROM "NodeCounters" """, ct);
            await ExecuteAsync(connection, InstanceSql.BackfillCounters, ct);
            await ExecuteAsync(connection, postgres is null ? "ANALYZE" : "VACUUM ANALYZE", ct);
        }
        Console.WriteLine($"  generated in {clock.Elapsed.TotalSeconds:N1} s");

        string? served = null;
        var engine = await MedianAsync(async () =>
            served = await admin.GetStringAsync(new Uri($"/api/journeys/{journeyId}/report", UriKind.Relative), ct));
        JourneyReport? history = null;
        var baseline = await MedianAsync(async () =>
        {
            await using var scope = host.Services.CreateAsyncScope();
            history = await scope.ServiceProvider.GetRequiredService<JourneyReports>().ReportFromHistoryAsync(journeyId, ct);
        });
        var expected = JsonSerializer.SerializeToNode(history, JsonSerializerOptions.Web);
        if (!JsonNode.DeepEquals(expected, JsonNode.Parse(served!)) || expected!["instances"]!["waiting"]!.GetValue<long>() != n * 2 / 5)
        {
            throw new InvalidOperationException($"The served report disagrees with the history: {served} vs {expected?.ToJsonString()}");
        }
        report.Add(new Figure(Name, "GET /api/journeys/{id}/report (median of 5)", $"{n:N0} instances", engine, "ms", "report from the step history", baseline,
            Target: "< 50 ms", Met: engine < 50, LowerIsBetter: true));
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 1200;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Median of five timed runs after one warm-up run, in milliseconds.</summary>
    private static async Task<double> MedianAsync(Func<Task> action)
    {
        await action();
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            await action();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[2];
    }
}
