using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Bench;

/// <summary>
/// N instances waiting on a timer with the real background poller running (Quartz, real clock):
/// CPU while nothing is due, then the timers come due spread over a window and each step's
/// lateness (step time − due time) is measured; peak RSS of the whole process.
/// </summary>
public static class TimersScenario
{
    private const string Name = "timers";
    private const long Far = 4_102_444_800_000; // 2100-01-01: due times parked out of reach while idle CPU is measured

    public static async Task RunAsync(string folder, TimersSize size, BenchTarget target, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        if (postgres is not null)
        {
            await TimersPostgres.RunAsync(folder, size, target, postgres, report, ct);
            return;
        }
        // All wait while idle CPU is measured; then a share comes due, evenly over the window (TimersSize).
        var (n, due, window, idle, settle) = size;
        using var host = new BenchHost(folder, new Dictionary<string, string?> { ["Runtime:Enabled"] = "true" });
        host.Start();
        using var admin = host.Admin();
        await using var connection = host.OpenConnection();
        Console.WriteLine($"  generating {n:N0} profiles and {n:N0} waiting instances (raw batched inserts)");
        var generation = Stopwatch.StartNew();
        // An audience nobody is in, so that the published journey's Read Audience admits no one. It is published and its
        // once-read done before the profiles go in: over millions of profiles that read would scan them all in one
        // write transaction (it looks for a chunk of members that never fills), holding the writer the load needs.
        var audience = await Workload.CreateAudienceAsync(admin, "person.birthYear > 3000", ct);
        var (journeyId, versionId) = await Workload.PublishAsync(host, admin, $$"""
            { "name": "Bench timers", "start": "read", "timeout": "P30D",
              "nodes": [
                { "id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": { "frequency": "once" }, "next": "w" },
                { "id": "w", "type": "wait", "duration": "PT1H" }
              ] }
            """, ct);
        await AudienceReadAsync(connection, versionId, ct);
        await Workload.InsertProfilesAsync(connection, 1, n, ct);
        // The instance table's share: what the file grew by while the instances went in (this SQLite has no dbstat).
        var beforeInstances = await BytesAsync(connection, ct);
        await InsertWaitingAsync(connection, journeyId, versionId, n, ct);
        var databaseBytes = await BytesAsync(connection, ct);
        var instanceBytes = databaseBytes - beforeInstances;
        Console.WriteLine($"  generated in {generation.Elapsed.TotalSeconds:N0} s ({databaseBytes / n:N0} bytes a waiting instance, {instanceBytes / n:N0} of them its instance row and indexes)");
        // The generator's peak is the process's too; the host's own is measured from here (Linux).
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var generatorPeak = process.PeakWorkingSet64 / (1024.0 * 1024.0);
        var marked = PeakRss.Mark();

        Console.WriteLine($"  idle: {idle.TotalSeconds:N0} s with the poller running and {n:N0} timers waiting, none due, after {settle.TotalSeconds:N0} s to settle");
        // The target is about the steady state. For about half a minute after the bulk load the process is still
        // busy (the WAL is checkpointed, tiered JIT re-compiles hot methods, the GC cleans up after the load): ~10 % of
        // a core, falling to ~1 % by 30 s.
        await Task.Delay(settle, ct);
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(idle, ct);
        process.Refresh();
        var idleCpu = (process.TotalProcessorTime - cpuBefore) / wall.Elapsed;

        // Bring the timers due: evenly over the window, starting shortly after this update commits.
        var clock = Stopwatch.StartNew();
        // The update rewrites an index entry per timer, slower in a deeper index: more lead beyond a million rows.
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 3_000 + due / 200 + Math.Max(0, n - 1_000_000) / 1_000;
        var step = window.TotalMilliseconds / due;
        await using (var update = connection.CreateCommand())
        {
            update.CommandText = """UPDATE "JourneyInstances" SET "DueAt" = $start + CAST(("DueAt" - $far) * $step AS INTEGER) WHERE "JourneyVersionId" = $version AND "DueAt" < $far + $due""";
            update.Parameters.AddWithValue("$due", due);
            update.Parameters.AddWithValue("$start", start);
            update.Parameters.AddWithValue("$far", Far);
            update.Parameters.AddWithValue("$step", step);
            update.Parameters.AddWithValue("$version", versionId.ToString().ToUpperInvariant());
            update.CommandTimeout = 600;
            await update.ExecuteNonQueryAsync(ct);
        }
        // The due times were changed behind the engine's back: tell the poller, as it would know of its own writes.
        host.Get<JourneyWorker.Runtime.InstancePoller>().Wake();
        var armed = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Console.WriteLine($"  {due:N0} timers armed in {clock.Elapsed.TotalSeconds:N1} s, due from +{(start - armed) / 1000.0:N1} s over {window.TotalSeconds:N0} s");

        long remaining = due;
        await using (new Progress("timers run", due, () => due - Interlocked.Read(ref remaining)))
        {
            while ((remaining = Armed(connection)) > 0)
            {
                await Task.Delay(500, ct);
            }
        }
        process.Refresh();
        var peakRss = process.PeakWorkingSet64 / (1024.0 * 1024.0);
        var hostPeak = PeakRss.SinceMarkMiB();

        var lateness = await LatenessAsync(connection, start, step, armed, ct);
        var dueNote = size.DueNote;
        report.Add(new Figure(Name, "lateness p50 (due → step)", dueNote, lateness.P50, "ms"));
        report.Add(new Figure(Name, "lateness p99 (due → step)", dueNote, lateness.P99, "ms", Target: "≤ 1,000 ms", Met: lateness.P99 <= 1_000));
        report.Add(new Figure(Name, "idle CPU, poller running (% of one core)", $"{n:N0} waiting, {idle.TotalSeconds:N0} s", idleCpu * 100, "%", Target: "< 1%", Met: idleCpu < 0.01));
        report.Add(new Figure(Name, "peak RSS (whole bench process)", $"{n:N0} timers", peakRss, "MiB", Target: "≤ 512 MiB", Met: peakRss <= 512));
        if (marked)
        {
            report.Add(new Figure(Name, "peak RSS after the load (host phase)", $"{n:N0} timers (generator: {generatorPeak:N0} MiB)", hostPeak, "MiB", Target: "≤ 512 MiB", Met: hostPeak <= 512));
        }
        report.Add(new Figure(Name, "JourneyInstances bytes per waiting instance (table + indexes)", $"{n:N0} waiting", instanceBytes / n, "bytes"));
        report.Add(new Figure(Name, "database size per waiting instance (incl. its profile)", $"{n:N0} waiting, {n:N0} profiles", databaseBytes / n, "bytes"));
        if (lateness.Skipped > 0)
        {
            Console.WriteLine($"  ({lateness.Skipped:N0} timers were due before the update that armed them committed and are left out)");
        }
    }

    /// <summary>Armed timers not yet run: a range of the (Status, DueAt) index, not a count of every waiting row (at 10,000,000 that would be a second of CPU per look).</summary>
    private static long Armed(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT count(*) FROM "JourneyInstances" WHERE "Status" = 'waiting' AND "DueAt" < $far""";
        command.Parameters.AddWithValue("$far", Far);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Waits (at most a minute) until the version's once-read of its audience has run.</summary>
    private static async Task AudienceReadAsync(SqliteConnection connection, Guid versionId, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT "AudienceReadAt" IS NOT NULL FROM "JourneyVersions" WHERE "Id" = $version""";
        command.Parameters.AddWithValue("$version", versionId.ToString().ToUpperInvariant());
        var deadline = Stopwatch.StartNew();
        while (Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) == 0)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(1))
            {
                throw new TimeoutException("The journey's once-read of its audience did not run within a minute of publishing.");
            }
            await Task.Delay(100, ct);
        }
    }

    /// <summary>The database's size as this connection sees it (page_count × page_size, what is in the WAL included), less its free pages.</summary>
    private static async Task<double> BytesAsync(SqliteConnection connection, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) - (SELECT freelist_count FROM pragma_freelist_count()) * (SELECT page_size FROM pragma_page_size())";
        return Convert.ToDouble(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    /// <summary>Instance rows as the engine writes a wait, due times parked at <see cref="Far"/> + index (made real later in one UPDATE).</summary>
    private static async Task InsertWaitingAsync(SqliteConnection connection, Guid journeyId, Guid versionId, long n, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        await using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO "JourneyInstances" ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
            VALUES ($journey, $version, $profile, 'waiting', 'w', $due, 'wait', '{}', 0, 4, $deadline, $entered)
            """;
        insert.Parameters.AddWithValue("$journey", journeyId.ToString().ToUpperInvariant());
        insert.Parameters.AddWithValue("$version", versionId.ToString().ToUpperInvariant());
        var profile = insert.Parameters.Add("$profile", SqliteType.Integer);
        var due = insert.Parameters.Add("$due", SqliteType.Integer);
        insert.Parameters.AddWithValue("$deadline", now.AddDays(30).ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$entered", now.UtcDateTime);
        long done = 0;
        await using var progress = new Progress("instances inserted", n, () => Interlocked.Read(ref done));
        for (long i = 0; i < n;)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
            insert.Transaction = transaction;
            for (var k = 0; k < 10_000 && i < n; k++, i++)
            {
                profile.Value = i + 1;
                due.Value = Far + i;
                insert.ExecuteNonQuery();
                Interlocked.Increment(ref done);
            }
            await transaction.CommitAsync(ct);
        }
    }

    private sealed record Lateness(double P50, double P99, long Skipped);

    /// <summary>Due time from the instance's position (profile id − 1), step time from the history the runner wrote ("The wait elapsed.").</summary>
    private static async Task<Lateness> LatenessAsync(SqliteConnection connection, long start, double step, long armed, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT i."ProfileId", s."At" FROM "InstanceSteps" s JOIN "JourneyInstances" i ON i."Id" = s."InstanceId"
            WHERE s."NodeId" = 'w' AND s."Outcome" = 'succeeded'
            """;
        var values = new List<double>();
        long skipped = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var due = start + (long)((reader.GetInt64(0) - 1) * step);
            if (due < armed)
            {
                skipped++;
                continue;
            }
            var at = DateTime.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            values.Add(new DateTimeOffset(at).ToUnixTimeMilliseconds() - due);
        }
        values.Sort();
        double Percentile(double p) => values.Count == 0 ? double.NaN : Math.Max(0, values[Math.Min(values.Count - 1, (int)(p * values.Count))]);
        return new Lateness(Percentile(0.50), Percentile(0.99), skipped);
    }
}
