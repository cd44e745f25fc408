using System.Diagnostics;
using System.Globalization;
using JourneyWorker.Runtime;
using Npgsql;
using NpgsqlTypes;

namespace JourneyWorker.Bench;

/// <summary>
/// audience-entry on PostgreSQL: Read Audience against a binary COPY of the same instance rows into a copy of the
/// instance table (same indexes, same 2,000 rows per transaction as the engine's chunk); then the e-mails, by the
/// in-process worker alone or with a second worker process, against the bare MailKit loop. The PostgreSQL server's
/// own CPU is measured over each timed step.
/// </summary>
public static class AudienceEntryPostgres
{
    private const string Name = "audience-entry";
    private const long Far = 4_102_444_800_000; // 2100-01-01: due times parked out of reach

    public static async Task RunAsync(string folder, long profiles, bool quick, BenchTarget target, BenchDatabase postgres, Report report, CancellationToken ct)
    {
        await using var sink = await SmtpSink.StartAsync(ct);
        using var host = new BenchHost(folder, new Dictionary<string, string?>
        {
            ["Email:Smtp:Host"] = sink.Host,
            ["Email:Smtp:Port"] = sink.Port.ToString(CultureInfo.InvariantCulture),
        }, postgres);
        host.Start();
        using var admin = host.Admin();
        await using var connection = await postgres.OpenAsync(ct);
        var cpu = await PostgresCpu.FindAsync(connection, ct);
        Console.WriteLine($"  generating {profiles:N0} profiles (binary COPY)");
        await Workload.CopyProfilesAsync(connection, 1, profiles, ct);
        var qualifying = profiles / 4;

        var audience = await Workload.CreateAudienceAsync(admin, Workload.SeedRule, ct);
        if (target.Caps)
        {
            await Workload.PutFrequencyRuleAsync(admin, ct);
        }
        var (journeyId, versionId) = await Workload.PublishAsync(host, admin, Workload.EmailJourney(audience), ct);

        await CheckpointAsync(connection, ct);
        var baseline = await CopyBaselineAsync(connection, journeyId, versionId, qualifying, ct);

        await CheckpointAsync(connection, ct);
        Console.WriteLine($"  Read Audience: {profiles:N0} profiles, {qualifying:N0} qualify");
        var reader = host.Get<AudienceReader>();
        var pgBefore = cpu?.Seconds();
        var clock = Stopwatch.StartNew();
        int admitted;
        await using (var monitor = await postgres.OpenAsync(ct))
        await using (new Progress("entered", qualifying, () => MaxInstanceId(monitor)))
        {
            admitted = await reader.ReadAsync(versionId, testOnly: false, ct);
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        var entryRate = admitted / elapsed;
        if (admitted != qualifying)
        {
            throw new InvalidOperationException($"Read Audience admitted {admitted}, expected {qualifying}.");
        }
        var size = $"{profiles:N0} profiles, {qualifying:N0} enter";
        report.Add(new Figure(Name, "profiles entered (Read Audience)", size, entryRate, "profiles/s",
            "binary COPY, 2,000 rows/tx", baseline.Rate, "≥ 50%", entryRate >= 0.5 * baseline.Rate));
        AddCpu(report, "Read Audience", size, cpu, pgBefore, elapsed, admitted, "profiles", baseline);

        // The e-mails. Every instance is parked out of reach first, so that a second worker (which polls by
        // itself) starts nothing before the clock does; then the ones to send (quick: the first 2,000) are made due
        // at one instant, every worker is woken by NOTIFY, and the in-process worker drains alongside the other.
        var expected = target.Emails is { } emails ? Math.Min(qualifying, emails) : quick ? Math.Min(qualifying, 2_000L) : qualifying;
        await Workload.ExecuteAsync(connection, """UPDATE "JourneyInstances" SET "DueAt" = @far + "Id" WHERE "JourneyVersionId" = @version""", ct,
            ("far", Far), ("version", versionId));
        await Workload.ExecuteAsync(connection, """VACUUM ANALYZE "JourneyInstances" """, ct);
        await using var second = target.Workers > 1 ? await WorkerProcess.StartAsync(folder, host.Settings, ct) : null;

        Console.WriteLine("  warm-up: 2,000 messages through the bare MailKit loop");
        await AudienceEntryScenario.BareMailKitAsync(sink, 2_000, 4, ct);
        await sink.ResetMostOpenAsync(ct);
        var at = DateTimeOffset.UtcNow.AddSeconds(2);
        await Workload.ExecuteAsync(connection, """
            UPDATE "JourneyInstances" SET "DueAt" = @at
            WHERE "Id" IN (SELECT "Id" FROM "JourneyInstances" WHERE "JourneyVersionId" = @version ORDER BY "Id" LIMIT @count)
            """, ct, ("at", at.ToUnixTimeMilliseconds()), ("version", versionId), ("count", expected));
        await CheckpointAsync(connection, ct);
        var wait = at - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, ct);
        }

        Console.WriteLine($"  e-mail: draining {expected:N0} instances against the loopback SMTP sink{(second is null ? "" : " with 2 workers")}");
        var before = sink.MessageCount;
        pgBefore = cpu?.Seconds();
        var processCpu = Process.GetCurrentProcess().TotalProcessorTime;
        clock.Restart();
        await using (new Progress("e-mails delivered", expected, () => sink.MessageCount - before))
        {
            await Workload.ExecuteAsync(connection, $"SELECT pg_notify('{JourneyWorker.Runtime.Store.PostgreSqlInstanceSql.DueChannel}', '')", ct);
            host.Get<InstancePoller>().Wake();
            await host.Get<InstancePoller>().DrainAsync(ct);
            // The other worker may still be on its last batch.
            var last = (Count: sink.MessageCount, At: Stopwatch.StartNew());
            while (sink.MessageCount - before < expected)
            {
                if (sink.MessageCount != last.Count)
                {
                    last = (sink.MessageCount, Stopwatch.StartNew());
                }
                else if (last.At.Elapsed > TimeSpan.FromSeconds(60))
                {
                    break;
                }
                await Task.Delay(10, ct);
            }
        }
        elapsed = clock.Elapsed.TotalSeconds;
        var sent = sink.MessageCount - before;
        var mailRate = sent / elapsed;
        var connections = Math.Max(1, sink.MostOpenSessions);
        if (sent != expected)
        {
            throw new InvalidOperationException($"The sink received {sent} e-mails, expected {expected}.");
        }
        var pgMail = cpu is null ? (double?)null : cpu.Seconds() - pgBefore!.Value;
        Console.WriteLine($"  CPU: {(Process.GetCurrentProcess().TotalProcessorTime - processCpu).TotalMilliseconds * 1000 / Math.Max(1, sent):N0} ms per 1,000 e-mails (this process)"
            + (pgMail is { } server ? $", {server * 1_000_000 / Math.Max(1, sent):N0} ms per 1,000 e-mails (PostgreSQL)" : ""));

        Console.WriteLine($"  bare MailKit loop: {sent:N0} messages over {connections} connections");
        var bare = await AudienceEntryScenario.BareMailKitAsync(sink, (int)sent, connections, ct);
        var mailSize = $"{sent:N0} e-mails{target.WorkersNote}";
        report.Add(new Figure(Name, $"e-mails delivered ({connections} SMTP connections)", mailSize, mailRate, "e-mails/s",
            "bare MailKit loop", bare, "≥ 1,000/s and ≥ 70%", mailRate >= 1_000 && mailRate >= 0.7 * bare));
        if (pgMail is { } seconds)
        {
            report.Add(new Figure(Name, "PostgreSQL CPU while sending", mailSize, seconds / elapsed * 100, "% of a core"));
            report.Add(new Figure(Name, "e-mails per PostgreSQL core-second", mailSize, sent / Math.Max(seconds, 0.01), "e-mails/core-s"));
        }
    }

    private static void AddCpu(Report report, string step, string size, PostgresCpu? cpu, double? before, double elapsed, long rows, string what, (double Rate, double? CpuSeconds) baseline)
    {
        if (cpu is null || before is null)
        {
            return;
        }
        var seconds = cpu.Seconds() - before.Value;
        report.Add(new Figure(Name, $"PostgreSQL CPU during {step}", size, seconds / elapsed * 100, "% of a core"));
        report.Add(new Figure(Name, $"{what} per PostgreSQL core-second ({step})", size, rows / Math.Max(seconds, 0.01), $"{what}/core-s",
            "binary COPY", baseline.CpuSeconds is { } b ? rows / Math.Max(b, 0.01) : null));
    }

    private static long MaxInstanceId(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("""SELECT coalesce(max("Id"), 0) FROM "JourneyInstances" """, connection);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Starts the timed steps on an equal footing: the dirty pages of what came before written out (superuser only; skipped otherwise).</summary>
    internal static async Task CheckpointAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        try
        {
            await Workload.ExecuteAsync(connection, "CHECKPOINT", ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
        }
    }

    /// <summary>
    /// The bare operation: the same instance rows (same columns and values) by binary COPY into a table created
    /// LIKE JourneyInstances INCLUDING ALL (same keys, indexes, identity), 2,000 rows per COPY, each its own transaction
    /// (the engine's chunk). Returns rows/s and the server's CPU seconds.
    /// </summary>
    private static async Task<(double Rate, double? CpuSeconds)> CopyBaselineAsync(NpgsqlConnection connection, Guid journeyId, Guid versionId, long rows, CancellationToken ct)
    {
        var cpu = await PostgresCpu.FindAsync(connection, ct);
        await Workload.ExecuteAsync(connection, """CREATE TABLE "BenchInstances" (LIKE "JourneyInstances" INCLUDING ALL)""", ct);
        Console.WriteLine($"  baseline: binary COPY of {rows:N0} instance rows");
        var now = DateTimeOffset.UtcNow;
        var due = now.ToUnixTimeMilliseconds();
        var deadline = now.AddDays(30).ToUnixTimeMilliseconds();
        var entered = now.UtcDateTime;
        var before = cpu?.Seconds();
        var clock = Stopwatch.StartNew();
        long id = 0;
        for (long done = 0; done < rows;)
        {
            await using var copy = await connection.BeginBinaryImportAsync("""
                COPY "BenchInstances" ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
                FROM STDIN (FORMAT BINARY)
                """, ct);
            for (var i = 0; i < 2_000 && done < rows; i++, done++)
            {
                id += 4; // the qualifying profiles: one in four
                copy.StartRow();
                copy.Write(journeyId, NpgsqlDbType.Uuid);
                copy.Write(versionId, NpgsqlDbType.Uuid);
                copy.Write(id, NpgsqlDbType.Bigint);
                copy.Write("active", NpgsqlDbType.Text);
                copy.Write("first", NpgsqlDbType.Text);
                copy.Write(due, NpgsqlDbType.Bigint);
                copy.Write("{}", NpgsqlDbType.Text);
                copy.Write(false, NpgsqlDbType.Boolean);
                copy.Write(2, NpgsqlDbType.Integer);
                copy.Write(deadline, NpgsqlDbType.Bigint);
                copy.Write(entered, NpgsqlDbType.TimestampTz);
            }
            await copy.CompleteAsync(ct);
        }
        var rate = rows / clock.Elapsed.TotalSeconds;
        var seconds = cpu is null ? (double?)null : cpu.Seconds() - before!.Value;
        await Workload.ExecuteAsync(connection, """DROP TABLE "BenchInstances" """, ct);
        return (rate, seconds);
    }
}
