using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Bench;

/// <summary>
/// GET /api/audiences/{id}/preview (AudienceQuery.CountAsync + a 20-profile sample) on growing
/// profile tables, against a hand-written raw SQLite count of the same rule on the same file.
/// </summary>
public static class PreviewScenario
{
    private const string Name = "preview";

    private const string RawCount = """
        SELECT count(*) FROM "Profiles"
        WHERE json_extract("Attributes", '$.homeAddress.city') IN ('Atlanta', 'San Francisco', 'Seattle')
          AND json_extract("Attributes", '$.person.birthYear') > 1980
        """;

    /// <summary>The same count on PostgreSQL: the text column cast to jsonb once per row, as the engine's SQL does.</summary>
    private const string RawCountPostgres = """
        SELECT count(*) FROM (SELECT "Attributes"::jsonb AS j FROM "Profiles") AS p
        WHERE j #>> '{homeAddress,city}' IN ('Atlanta', 'San Francisco', 'Seattle')
          AND jsonb_typeof(j #> '{person,birthYear}') = 'number' AND (j #>> '{person,birthYear}')::numeric > 1980
        """;

    public static async Task RunAsync(string folder, long[] sizes, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        using var host = new BenchHost(folder, postgres: postgres);
        host.Start();
        using var admin = host.Admin();
        var audience = await Workload.CreateAudienceAsync(admin, Workload.SeedRule, ct);
        if (postgres is not null)
        {
            await RunPostgresAsync(postgres, admin, audience, sizes, report, ct);
            return;
        }
        await using var connection = host.OpenConnection();
        long have = 0;
        foreach (var size in sizes)
        {
            Console.WriteLine($"  generating profiles up to {size:N0}");
            await Workload.InsertProfilesAsync(connection, have + 1, size - have, ct);
            have = size;

            var engine = await MedianAsync(async () =>
            {
                var body = await admin.GetStringAsync(new Uri($"/api/audiences/{audience}/preview", UriKind.Relative), ct);
                if (!body.Contains($"\"count\":{size / 4}", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"Preview on {size:N0} profiles: unexpected answer {body[..Math.Min(200, body.Length)]}");
                }
            });
            var raw = await MedianAsync(() => { Count(connection); return Task.CompletedTask; });
            report.Add(new Figure(Name, "preview (count + 20-profile sample)", $"{size:N0} profiles", engine, "ms", "raw SQL count", raw, LowerIsBetter: true));
        }
    }

    private static async Task RunPostgresAsync(BenchDatabase postgres, HttpClient admin, string audience, long[] sizes, Report report, CancellationToken ct)
    {
        await using var connection = await postgres.OpenAsync(ct);
        long have = 0;
        foreach (var size in sizes)
        {
            Console.WriteLine($"  generating profiles up to {size:N0} (binary COPY)");
            await Workload.CopyProfilesAsync(connection, have + 1, size - have, ct);
            have = size;

            var engine = await MedianAsync(async () =>
            {
                var body = await admin.GetStringAsync(new Uri($"/api/audiences/{audience}/preview", UriKind.Relative), ct);
                if (!body.Contains($"\"count\":{size / 4}", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"Preview on {size:N0} profiles: unexpected answer {body[..Math.Min(200, body.Length)]}");
                }
            });
            var raw = await MedianAsync(async () =>
            {
                if (Convert.ToInt64(await Workload.ExecuteAsync(connection, RawCountPostgres, ct)) != size / 4)
                {
                    throw new InvalidOperationException("The raw count disagrees with the workload.");
                }
            });
            report.Add(new Figure(Name, "preview (count + 20-profile sample)", $"{size:N0} profiles", engine, "ms", "raw SQL count", raw, LowerIsBetter: true));
        }
    }

    private static long Count(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = RawCount;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Median of three timed runs after one warm-up run, in milliseconds.</summary>
    private static async Task<double> MedianAsync(Func<Task> action)
    {
        await action();
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await action();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[1];
    }
}
