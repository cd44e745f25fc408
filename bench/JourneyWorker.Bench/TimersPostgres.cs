using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace JourneyWorker.Bench;

/// <summary>
/// timers on PostgreSQL: N instances waiting on a timer, the real poller running in this process (and, with two
/// workers, in a second worker process too); idle CPU of each worker and of the PostgreSQL server while nothing is
/// due; then a share comes due evenly over a window and each step's lateness is measured, with the server's CPU over
/// the window; peak RSS; the table's size per waiting instance.
/// </summary>
public static class TimersPostgres
{
    private const string Name = "timers";
    private const long Far = 4_102_444_800_000; // 2100-01-01: due times parked out of reach while idle CPU is measured

    public static async Task RunAsync(string folder, TimersSize size, BenchTarget target, BenchDatabase postgres, Report report, CancellationToken ct)
    {
        var (n, due, window, idle, settle) = size;
        using var host = new BenchHost(folder, new Dictionary<string, string?> { ["Runtime:Enabled"] = "true" }, postgres);
        host.Start();
        using var admin = host.Admin();
        await using var connection = await postgres.OpenAsync(ct);
        var cpu = await PostgresCpu.FindAsync(connection, ct);
        Console.WriteLine($"  generating {n:N0} profiles and {n:N0} waiting instances (binary COPY)");
        await Workload.CopyProfilesAsync(connection, 1, n, ct);
        // An audience nobody is in, so that the published journey's Read Audience admits no one.
        var audience = await Workload.CreateAudienceAsync(admin, "person.birthYear > 3000", ct);
        var (journeyId, versionId) = await Workload.PublishAsync(host, admin, $$"""
            { "name": "Bench timers", "start": "read", "timeout": "P30D",
              "nodes": [
                { "id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": { "frequency": "once" }, "next": "w" },
                { "id": "w", "type": "wait", "duration": "PT1H" }
              ] }
            """, ct);
        await CopyWaitingAsync(connection, journeyId, versionId, n, ct);
        await Workload.ExecuteAsync(connection, """VACUUM ANALYZE "JourneyInstances" """, ct);
        var tableBytes = Convert.ToDouble(await Workload.ExecuteAsync(connection, """SELECT pg_total_relation_size('"JourneyInstances"')""", ct));
        var databaseBytes = Convert.ToDouble(await Workload.ExecuteAsync(connection, "SELECT pg_database_size(current_database())", ct));
        // The generator's peak is the process's too; the host's own is measured from here (Linux).
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var generatorPeak = process.PeakWorkingSet64 / (1024.0 * 1024.0);
        var marked = PeakRss.Mark();
        await using var second = target.Workers > 1 ? await WorkerProcess.StartAsync(folder, host.Settings, ct) : null;

        Console.WriteLine($"  idle: {idle.TotalSeconds:N0} s with the poller running and {n:N0} timers waiting, none due, after {settle.TotalSeconds:N0} s to settle");
        await Task.Delay(settle, ct);
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var secondBefore = second?.CpuSeconds() ?? 0;
        var pgBefore = cpu?.Seconds() ?? 0;
        var wall = Stopwatch.StartNew();
        await Task.Delay(idle, ct);
        process.Refresh();
        var idleCpu = (process.TotalProcessorTime - cpuBefore) / wall.Elapsed;
        var secondIdle = second is null ? 0 : (second.CpuSeconds() - secondBefore) / wall.Elapsed.TotalSeconds;
        var pgIdle = cpu is null ? 0 : (cpu.Seconds() - pgBefore) / wall.Elapsed.TotalSeconds;

        // Bring the timers due: evenly over the window, starting shortly after this update commits (PostgreSQL
        // rewrites a row version and its index entries per timer: more lead than SQLite's in-place update needs).
        var clock = Stopwatch.StartNew();
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 3_000 + due / 50 + Math.Max(0, n - 1_000_000) / 1_000;
        var step = window.TotalMilliseconds / due;
        await Workload.ExecuteAsync(connection, """
            UPDATE "JourneyInstances" SET "DueAt" = @start + CAST(("DueAt" - @far) * @step AS bigint)
            WHERE "JourneyVersionId" = @version AND "DueAt" < @far + @due
            """, ct, ("due", due), ("start", start), ("far", Far), ("step", step), ("version", versionId));
        // The due times were changed behind the engine's back: tell the pollers, as they would know of their own writes.
        host.Get<JourneyWorker.Runtime.InstancePoller>().Wake();
        await Workload.ExecuteAsync(connection, $"SELECT pg_notify('{JourneyWorker.Runtime.Store.PostgreSqlInstanceSql.DueChannel}', '')", ct);
        var armed = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Console.WriteLine($"  {due:N0} timers armed in {clock.Elapsed.TotalSeconds:N1} s, due from +{(start - armed) / 1000.0:N1} s over {window.TotalSeconds:N0} s");

        pgBefore = cpu?.Seconds() ?? 0;
        wall.Restart();
        long remaining = due;
        await using (new Progress("timers run", due, () => due - Interlocked.Read(ref remaining)))
        {
            // Every 2 s: the count is an index range scan over what is still armed, itself work for the server.
            while ((remaining = Armed(connection)) > 0)
            {
                await Task.Delay(2_000, ct);
            }
        }
        var pgWindow = cpu is null ? 0 : cpu.Seconds() - pgBefore;
        var windowSeconds = wall.Elapsed.TotalSeconds;
        process.Refresh();
        var peakRss = process.PeakWorkingSet64 / (1024.0 * 1024.0);
        var hostPeak = PeakRss.SinceMarkMiB();

        var lateness = await LatenessAsync(connection, start, step, armed, ct);
        var dueNote = $"{size.DueNote}{target.WorkersNote}";
        report.Add(new Figure(Name, "lateness p50 (due → step)", dueNote, lateness.P50, "ms"));
        report.Add(new Figure(Name, "lateness p99 (due → step)", dueNote, lateness.P99, "ms", Target: "≤ 1,000 ms", Met: lateness.P99 <= 1_000));
        var idleSize = $"{n:N0} waiting, {idle.TotalSeconds:N0} s{target.WorkersNote}";
        report.Add(new Figure(Name, "idle CPU, poller running (% of one core)", idleSize, idleCpu * 100, "%", Target: "< 1%", Met: idleCpu < 0.01));
        if (second is not null)
        {
            report.Add(new Figure(Name, "idle CPU, second worker process", idleSize, secondIdle * 100, "%", Target: "< 1%", Met: secondIdle < 0.01));
        }
        if (cpu is not null)
        {
            report.Add(new Figure(Name, "idle CPU, PostgreSQL server", idleSize, pgIdle * 100, "%"));
            report.Add(new Figure(Name, "PostgreSQL CPU while timers fire", dueNote, pgWindow / windowSeconds * 100, "% of a core"));
            report.Add(new Figure(Name, "timers run per PostgreSQL core-second", dueNote, due / Math.Max(pgWindow, 0.01), "timers/core-s"));
        }
        report.Add(new Figure(Name, "peak RSS (whole bench process)", $"{n:N0} timers", peakRss, "MiB", Target: "≤ 512 MiB", Met: peakRss <= 512));
        if (marked)
        {
            report.Add(new Figure(Name, "peak RSS after the load (host phase)", $"{n:N0} timers (generator: {generatorPeak:N0} MiB)", hostPeak, "MiB", Target: "≤ 512 MiB", Met: hostPeak <= 512));
        }
        if (second is not null)
        {
            var rss = second.PeakRssMiB();
            report.Add(new Figure(Name, "peak RSS, second worker process", $"{n:N0} timers", rss, "MiB", Target: "≤ 512 MiB", Met: rss <= 512));
        }
        report.Add(new Figure(Name, "JourneyInstances size per waiting instance (table + indexes)", $"{n:N0} waiting", tableBytes / n, "bytes"));
        report.Add(new Figure(Name, "database size per waiting instance (incl. its profile)", $"{n:N0} waiting, {n:N0} profiles", databaseBytes / n, "bytes"));
        if (lateness.Skipped > 0)
        {
            Console.WriteLine($"  ({lateness.Skipped:N0} timers were due before the update that armed them committed and are left out)");
        }
    }

    /// <summary>Armed timers not yet run: an index range on (Status, DueAt), far cheaper than counting every waiting row.</summary>
    private static long Armed(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("""SELECT count(*) FROM "JourneyInstances" WHERE "Status" = 'waiting' AND "DueAt" < @far""", connection);
        command.Parameters.AddWithValue("far", Far);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Instance rows as the engine writes a wait, due times parked at <see cref="Far"/> + index (made real later in one UPDATE), by binary COPY.</summary>
    private static async Task CopyWaitingAsync(NpgsqlConnection connection, Guid journeyId, Guid versionId, long n, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var deadline = now.AddDays(30).ToUnixTimeMilliseconds();
        var entered = now.UtcDateTime;
        long done = 0;
        await using var progress = new Progress("instances copied", n, () => Interlocked.Read(ref done));
        await using var copy = await connection.BeginBinaryImportAsync("""
            COPY "JourneyInstances" ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
            FROM STDIN (FORMAT BINARY)
            """, ct);
        for (long i = 0; i < n; i++)
        {
            copy.StartRow();
            copy.Write(journeyId, NpgsqlDbType.Uuid);
            copy.Write(versionId, NpgsqlDbType.Uuid);
            copy.Write(i + 1, NpgsqlDbType.Bigint);
            copy.Write("waiting", NpgsqlDbType.Text);
            copy.Write("w", NpgsqlDbType.Text);
            copy.Write(Far + i, NpgsqlDbType.Bigint);
            copy.Write("wait", NpgsqlDbType.Text);
            copy.Write("{}", NpgsqlDbType.Text);
            copy.Write(false, NpgsqlDbType.Boolean);
            copy.Write(4, NpgsqlDbType.Integer);
            copy.Write(deadline, NpgsqlDbType.Bigint);
            copy.Write(entered, NpgsqlDbType.TimestampTz);
            Interlocked.Increment(ref done);
        }
        await copy.CompleteAsync(ct);
    }

    private sealed record Lateness(double P50, double P99, long Skipped);

    /// <summary>Due time from the instance's position (profile id − 1), step time from the history the runners wrote ("The wait elapsed.").</summary>
    private static async Task<Lateness> LatenessAsync(NpgsqlConnection connection, long start, double step, long armed, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            SELECT i."ProfileId", s."At" FROM "InstanceSteps" s JOIN "JourneyInstances" i ON i."Id" = s."InstanceId"
            WHERE s."NodeId" = 'w' AND s."Outcome" = 'succeeded'
            """, connection);
        var values = new List<double>();
        long skipped = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var dueAt = start + (long)((reader.GetInt64(0) - 1) * step);
            if (dueAt < armed)
            {
                skipped++;
                continue;
            }
            var at = DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc);
            values.Add(new DateTimeOffset(at).ToUnixTimeMilliseconds() - dueAt);
        }
        values.Sort();
        double Percentile(double p) => values.Count == 0 ? double.NaN : Math.Max(0, values[Math.Min(values.Count - 1, (int)(p * values.Count))]);
        return new Lateness(Percentile(0.50), Percentile(0.99), skipped);
    }
}
