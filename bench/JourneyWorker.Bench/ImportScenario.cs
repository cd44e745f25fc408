using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace JourneyWorker.Bench;

/// <summary>
/// <c>POST /api/profiles/import</c> of N new profiles (the synthetic profiles of <see cref="Workload"/>, one in four
/// matching the seed rule), streamed as NDJSON over loopback, into two hosts side by side in this process: one on a
/// fresh database with no journey, one on another fresh database with one live journey that starts with an
/// audienceQualification (on: enter) of the seed audience, so that every import batch evaluates the rule for its
/// profiles and a quarter of them enter. Then the first M lines again (updates that change nothing: nobody enters).
/// The two take turns, a tenth of the lines at a time, the first of each turn alternating, so that a shared machine's
/// changing load falls on both alike. The figure is the rate with the journey; its baseline, the rate without. The
/// runner is off: what is measured is the import (with its admissions), not the sends. Then the same N rows (profiles
/// and their e-mail identities) written raw into a third fresh database, the fastest way the database takes them
/// (SQLite: a reused prepared INSERT, 10,000 rows per transaction; PostgreSQL: binary COPY): the import without a
/// journey against that is the import's own figure.
/// </summary>
public static class ImportScenario
{
    private const string Name = "import";
    private const long Warmup = 5_000;
    private const int Turns = 10;

    public static async Task RunAsync(string folder, long profiles, long again, BenchTarget target, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        var second = target.IsPostgres ? await BenchDatabase.CreateAsync(target.PostgresServer!, "import-q", ct) : null;
        var third = target.IsPostgres ? await BenchDatabase.CreateAsync(target.PostgresServer!, "import-raw", ct) : null;
        try
        {
            using var plain = await StartAsync(Path.Combine(folder, "plain"), profiles, qualification: false, postgres, ct);
            using var qualified = await StartAsync(Path.Combine(folder, "qualified"), profiles, qualification: true, second, ct);

            Console.WriteLine($"  import of {profiles:N0} new profiles into each, in turns (load average {Machine.LoadAverage()})");
            var (plainNew, qualifiedNew) = await TakeTurnsAsync(plain, qualified, profiles, ct);
            await ExpectEnteredAsync(plain, 0, ct);
            await ExpectEnteredAsync(qualified, profiles / 4, ct);

            Console.WriteLine($"  baseline: raw insert of the same {profiles:N0} profiles and identities into a fresh database (load average {Machine.LoadAverage()})");
            var raw = await RawInsertAsync(Path.Combine(folder, "raw"), profiles, third, ct);
            Console.WriteLine($"    {raw:N0}/s");

            Console.WriteLine($"  re-import of the first {again:N0} into each, unchanged (load average {Machine.LoadAverage()})");
            var (plainAgain, qualifiedAgain) = await TakeTurnsAsync(plain, qualified, again, ct);
            await ExpectEnteredAsync(plain, 0, ct);
            await ExpectEnteredAsync(qualified, profiles / 4, ct);

            report.Add(new Figure(Name, "profiles imported (new), no journey", $"{profiles:N0} profiles",
                plainNew, "profiles/s", target.IsPostgres ? "raw binary COPY of the same rows" : "raw prepared INSERT of the same rows", raw,
                "≥ 50,000/s and ≥ 40%", plainNew >= 50_000 && plainNew >= 0.4 * raw));
            report.Add(new Figure(Name, "profiles imported (new), one audienceQualification journey live", $"{profiles:N0} profiles, {profiles / 4:N0} enter",
                qualifiedNew, "profiles/s", "same import, no journey", plainNew, "≥ 50%", qualifiedNew >= 0.5 * plainNew));
            report.Add(new Figure(Name, "profiles re-imported unchanged, one audienceQualification journey live", $"{again:N0} profiles, none enter",
                qualifiedAgain, "profiles/s", "same re-import, no journey", plainAgain, "≥ 50%", qualifiedAgain >= 0.5 * plainAgain));
        }
        finally
        {
            if (second is not null)
            {
                await second.DisposeAsync();
            }
            if (third is not null)
            {
                await third.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Rows 1..count as the import would leave them (a profile and its e-mail identity each), written raw into a fresh
    /// database whose schema a host made; returns rows per second, timed from the first row to the last commit.
    /// </summary>
    private static async Task<double> RawInsertAsync(string folder, long count, BenchDatabase? postgres, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        using var host = new BenchHost(folder, postgres: postgres);
        host.Start();
        if (host.Postgres is { } database)
        {
            await using var connection = await database.OpenAsync(ct);
            var copy = Stopwatch.StartNew();
            await Workload.CopyProfilesAsync(connection, 1, count, ct, analyze: false);
            return count / copy.Elapsed.TotalSeconds;
        }
        await using var sqlite = host.OpenConnection();
        var insert = Stopwatch.StartNew();
        await Workload.InsertProfilesAsync(sqlite, 1, count, ct);
        return count / insert.Elapsed.TotalSeconds;
    }

    /// <summary>A started host, warmed up (JIT, pools, caches) with profiles outside the measured range before its journey is published.</summary>
    private static async Task<Side> StartAsync(string folder, long profiles, bool qualification, BenchDatabase? postgres, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        var host = new BenchHost(folder, postgres: postgres);
        host.Start();
        var side = new Side(host, host.Admin(), qualification ? "with the journey" : "no journey");
        // Imported before the journey is published, so these are the audience's members already and enter nothing.
        await ImportAsync(side, profiles + 1, Warmup, ct);
        if (qualification)
        {
            var audience = await Workload.CreateAudienceAsync(side.Admin, Workload.SeedRule, ct);
            await Workload.PublishAsync(host, side.Admin, Journey(audience), ct);
        }
        return side;
    }

    /// <summary>Lines 1..count into both hosts, a tenth at a time each; returns each one's lines per second.</summary>
    private static async Task<(double Plain, double Qualified)> TakeTurnsAsync(Side plain, Side qualified, long count, CancellationToken ct)
    {
        var chunk = Math.Max(1, (count + Turns - 1) / Turns);
        var (plainTime, qualifiedTime) = (TimeSpan.Zero, TimeSpan.Zero);
        for (var (first, turn) = (1L, 0); first <= count; first += chunk, turn++)
        {
            var lines = Math.Min(chunk, count - first + 1);
            var (a, b) = turn % 2 == 0 ? (plain, qualified) : (qualified, plain);
            var timeA = await ImportAsync(a, first, lines, ct);
            var timeB = await ImportAsync(b, first, lines, ct);
            var (p, q) = turn % 2 == 0 ? (timeA, timeB) : (timeB, timeA);
            plainTime += p;
            qualifiedTime += q;
            Console.WriteLine($"    lines {first:N0}-{first + lines - 1:N0}: no journey {lines / p.TotalSeconds:N0}/s, with the journey {lines / q.TotalSeconds:N0}/s " +
                $"(load average {Machine.LoadAverage()})");
        }
        return (count / plainTime.TotalSeconds, count / qualifiedTime.TotalSeconds);
    }

    private static async Task ExpectEnteredAsync(Side side, long expected, CancellationToken ct)
    {
        var entered = await CountInstancesAsync(side.Host, ct);
        if (entered != expected)
        {
            throw new InvalidOperationException($"{entered} profiles entered the journey ({side.Label}), expected {expected}.");
        }
    }

    private sealed record Side(BenchHost Host, HttpClient Admin, string Label) : IDisposable
    {
        public void Dispose()
        {
            Admin.Dispose();
            Host.Dispose();
        }
    }

    /// <summary>The seed audience's qualification: whoever starts matching it gets the seed's first e-mail.</summary>
    private static string Journey(string audienceId) => $$$"""
        { "name": "Bench qualification", "start": "q", "timeout": "P30D",
          "nodes": [
            { "id": "q", "type": "audienceQualification", "audience": "{{{audienceId}}}", "on": "enter", "next": "first" },
            { "id": "first", "type": "email", "subject": "Hello {{profile.person.name.firstName}}", "html": "<p>Welcome</p>" }
          ] }
        """;

    /// <summary>Streams profiles first..first+count-1 as NDJSON; returns the time from the first byte sent to the answer.</summary>
    private static async Task<TimeSpan> ImportAsync(Side side, long first, long count, CancellationToken ct)
    {
        using var content = new NdjsonContent(first, count);
        var clock = Stopwatch.StartNew();
        using var response = await side.Admin.PostAsync("/api/profiles/import", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        var elapsed = clock.Elapsed;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Import: {(int)response.StatusCode} {body}");
        }
        var answer = JsonNode.Parse(body);
        if (answer?["imported"]?.GetValue<long>() != count)
        {
            throw new InvalidOperationException($"Import answered {answer?.ToJsonString()}, expected {count} imported.");
        }
        return elapsed;
    }

    private static async Task<long> CountInstancesAsync(BenchHost host, CancellationToken ct)
    {
        const string Sql = """SELECT count(*) FROM "JourneyInstances" """;
        if (host.Postgres is { } postgres)
        {
            await using var connection = await postgres.OpenAsync(ct);
            await using var command = new NpgsqlCommand(Sql, connection);
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }
        await using var sqlite = host.OpenConnection();
        await using var count = sqlite.CreateCommand();
        count.CommandText = Sql;
        return (long)(await count.ExecuteScalarAsync(ct))!;
    }

    /// <summary>NDJSON generated while it is sent (chunked), so a million lines need no file and no memory.</summary>
    private sealed class NdjsonContent : HttpContent
    {
        private readonly long _first;
        private readonly long _count;

        public NdjsonContent(long first, long count)
        {
            _first = first;
            _count = count;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            for (var id = _first; id < _first + _count; id++)
            {
                await writer.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"identities\":{{\"email\":\"p{id}@example.com\"}},\"attributes\":{Workload.Attributes(id)}}}\n"));
            }
            await writer.FlushAsync();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
