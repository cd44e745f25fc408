using System.Diagnostics;
using JourneyWorker.Runtime;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Data.Sqlite;
using MimeKit;

namespace JourneyWorker.Bench;

/// <summary>
/// Read Audience into a live journey that starts with an e-mail, then the e-mails: each against
/// the bare operation measured in the same run (a raw batched INSERT of the same instance rows; a
/// bare MailKit loop over as many connections to the same sink).
/// </summary>
public static class AudienceEntryScenario
{
    private const string Name = "audience-entry";

    public static async Task RunAsync(string folder, long profiles, bool quick, BenchTarget target, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        if (postgres is not null)
        {
            await AudienceEntryPostgres.RunAsync(folder, profiles, quick, target, postgres, report, ct);
            return;
        }
        await using var sink = await SmtpSink.StartAsync(ct);
        using var host = new BenchHost(folder, new Dictionary<string, string?>
        {
            ["Email:Smtp:Host"] = sink.Host,
            ["Email:Smtp:Port"] = sink.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        host.Start();
        using var admin = host.Admin();
        await using (var connection = host.OpenConnection())
        {
            Console.WriteLine($"  generating {profiles:N0} profiles (raw batched inserts)");
            await Workload.InsertProfilesAsync(connection, 1, profiles, ct);
        }
        var qualifying = profiles / 4;

        var audience = await Workload.CreateAudienceAsync(admin, Workload.SeedRule, ct);
        if (target.Caps)
        {
            await Workload.PutFrequencyRuleAsync(admin, ct);
        }
        var (journeyId, versionId) = await Workload.PublishAsync(host, admin, Workload.EmailJourney(audience), ct);

        var baseline = await RawInsertAsync(host, journeyId, versionId, qualifying, ct);

        Console.WriteLine($"  Read Audience: {profiles:N0} profiles, {qualifying:N0} qualify");
        var reader = host.Get<AudienceReader>();
        var clock = Stopwatch.StartNew();
        int admitted;
        await using (var monitor = host.OpenConnection())
        await using (new Progress("entered", qualifying, () => MaxInstanceId(monitor)))
        {
            admitted = await reader.ReadAsync(versionId, testOnly: false, ct);
        }
        var entryRate = admitted / clock.Elapsed.TotalSeconds;
        if (admitted != qualifying)
        {
            throw new InvalidOperationException($"Read Audience admitted {admitted}, expected {qualifying}.");
        }
        report.Add(new Figure(Name, "profiles entered (Read Audience)", $"{profiles:N0} profiles, {qualifying:N0} enter", entryRate, "profiles/s",
            "raw batched INSERT", baseline, "≥ 20,000/s and ≥ 50%", entryRate >= 20_000 && entryRate >= 0.5 * baseline));

        // Quick runs time the first 4 claim batches (2,000 e-mails at the default batch size) to stay near a minute.
        var batches = target.Emails is { } emails ? (int)(emails / 500) : quick ? 4 : int.MaxValue;
        var expected = batches == int.MaxValue ? qualifying : Math.Min(qualifying, batches * 500L);
        // MailKit and MimeKit are warmed up first, so that neither side pays their JIT for the other.
        Console.WriteLine("  warm-up: 2,000 messages through the bare MailKit loop");
        await BareMailKitAsync(sink, 2_000, 4, ct);
        Console.WriteLine($"  e-mail: draining {expected:N0} instances against the loopback SMTP sink");
        await sink.ResetMostOpenAsync(ct);
        var before = sink.MessageCount;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        clock.Restart();
        await using (new Progress("e-mails delivered", expected, () => sink.MessageCount - before))
        {
            await host.Get<InstancePoller>().DrainAsync(ct, batches);
        }
        var sent = sink.MessageCount - before;
        var mailRate = sent / clock.Elapsed.TotalSeconds;
        // Less bent by a busy machine than the rate: this process's CPU (engine, SQLite and the sink alike) per e-mail.
        Console.WriteLine($"  CPU: {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds * 1000 / Math.Max(1, sent):N0} ms per 1,000 e-mails (whole process)");
        var connections = Math.Max(1, sink.MostOpenSessions);
        if (sent != expected)
        {
            throw new InvalidOperationException($"The sink received {sent} e-mails, expected {expected}.");
        }

        Console.WriteLine($"  bare MailKit loop: {sent:N0} messages over {connections} connections");
        var bare = await BareMailKitAsync(sink, (int)sent, connections, ct);
        report.Add(new Figure(Name, $"e-mails delivered ({connections} SMTP connections)", $"{sent:N0} e-mails", mailRate, "e-mails/s",
            "bare MailKit loop", bare, "≥ 1,000/s and ≥ 70%", mailRate >= 1_000 && mailRate >= 0.7 * bare));
    }

    private static long MaxInstanceId(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT coalesce(max("Id"), 0) FROM "JourneyInstances" """;
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// The bare operation: the same instance rows (same columns and values) into a table of the
    /// same shape and indexes as JourneyInstances, 2,000 per transaction (the engine's chunk) with a reused prepared command.
    /// </summary>
    private static async Task<double> RawInsertAsync(BenchHost host, Guid journeyId, Guid versionId, long rows, CancellationToken ct)
    {
        await using var connection = host.OpenConnection();
        await using (var ddl = connection.CreateCommand())
        {
            // Same columns, keys and indexes (each index renamed by appending "_Bench").
            ddl.CommandText = """
                SELECT group_concat(CASE "type" WHEN 'table' THEN replace("sql", '"JourneyInstances"', '"BenchInstances"')
                    ELSE replace(replace("sql", '"' || "name" || '"', '"' || "name" || '_Bench"'), '"JourneyInstances"', '"BenchInstances"') END, ';')
                FROM sqlite_master WHERE "tbl_name" = 'JourneyInstances' AND "sql" IS NOT NULL
                """;
            var create = (string)(await ddl.ExecuteScalarAsync(ct))!;
            ddl.CommandText = create;
            await ddl.ExecuteNonQueryAsync(ct);
        }

        Console.WriteLine($"  baseline: raw INSERT of {rows:N0} instance rows");
        var now = DateTimeOffset.UtcNow;
        await using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO "BenchInstances" ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
            VALUES ($journey, $version, $profile, 'active', 'first', $now, '{}', 0, 2, $deadline, $entered)
            """;
        insert.Parameters.AddWithValue("$journey", journeyId.ToString().ToUpperInvariant());
        insert.Parameters.AddWithValue("$version", versionId.ToString().ToUpperInvariant());
        var profile = insert.Parameters.Add("$profile", SqliteType.Integer);
        insert.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$deadline", now.AddDays(30).ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$entered", now.UtcDateTime);
        var clock = Stopwatch.StartNew();
        long id = 0;
        for (long done = 0; done < rows;)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
            insert.Transaction = transaction;
            for (var i = 0; i < 2_000 && done < rows; i++, done++)
            {
                id += 4; // the qualifying profiles: one in four
                profile.Value = id;
                insert.ExecuteNonQuery();
            }
            await transaction.CommitAsync(ct);
        }
        var rate = rows / clock.Elapsed.TotalSeconds;
        await using (var drop = connection.CreateCommand())
        {
            drop.CommandText = """DROP TABLE "BenchInstances" """;
            await drop.ExecuteNonQueryAsync(ct);
        }
        return rate;
    }

    /// <summary>The bare client: MailKit on our own NoDelay sockets, one loop per connection, a freshly built message each time.</summary>
    internal static async Task<double> BareMailKitAsync(SmtpSink sink, int messages, int connections, CancellationToken ct)
    {
        var before = sink.MessageCount;
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            using var client = new SmtpClient();
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(sink.Host, sink.Port, ct);
            await client.ConnectAsync(socket, sink.Host, sink.Port, SecureSocketOptions.None, ct);
            int i;
            while ((i = Interlocked.Increment(ref next)) < messages)
            {
                var message = new MimeMessage();
                message.From.Add(new MailboxAddress("JourneyWorker", "journeys@localhost"));
                message.To.Add(MailboxAddress.Parse($"p{i}@example.com"));
                message.Subject = $"Hello Pat{i}";
                message.MessageId = $"{Guid.NewGuid():N}@bench";
                var html = Workload.EmailHtml.Replace("{{profile.person.name.firstName}}", $"Pat{i}", StringComparison.Ordinal);
                message.Body = new BodyBuilder { HtmlBody = html, TextBody = "Hi, see what is new this week." }.ToMessageBody();
                await client.SendAsync(message, ct);
            }
            await client.DisconnectAsync(true, ct);
        }));
        return (sink.MessageCount - before) / clock.Elapsed.TotalSeconds;
    }
}
