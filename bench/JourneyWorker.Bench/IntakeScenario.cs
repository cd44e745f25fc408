using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JourneyWorker.Bench;

/// <summary>
/// POST /api/events on the real host (Kestrel, loopback) under concurrent load, against two bare
/// Kestrel routes in the same process that only append the body to SQLite: one transaction per
/// request, and a single writer that group-commits what is queued (the best this machine does durably).
/// </summary>
public static class IntakeScenario
{
    private const string Name = "intake";
    internal const int Connections = 50;
    internal const int Profiles = 10_000;
    private const int GroupCommitMax = 500;
    private const string GroupBaseline = "bare group-commit route";
    private const string TxBaseline = "bare route, tx per request";

    public static async Task RunAsync(string folder, TimeSpan duration, BenchTarget target, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        if (postgres is not null)
        {
            await IntakePostgres.RunAsync(folder, duration, target, postgres, report, ct);
            return;
        }
        var perRequest = await BaselineAsync(folder, duration, groupCommit: false, ct);
        var grouped = await BaselineAsync(folder, duration, groupCommit: true, ct);

        using var host = new BenchHost(folder);
        var address = host.Start();
        using var admin = host.Admin();
        await using (var connection = host.OpenConnection())
        {
            await Workload.InsertProfilesAsync(connection, 1, Profiles, ct);
        }
        // The seed's purchase event: matched by a rule, checked against typed fields, tied to a profile by e-mail.
        await Workload.PostAsync(admin, "/api/event-configs", """
            {"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail",
             "fields": [{"path": "productName", "type": "string"}, {"path": "purchaseDate", "type": "dateTime"}]}
            """, ct);

        Console.WriteLine($"  JourneyWorker POST /api/events: {Connections} connections for {duration.TotalSeconds:N0} s");
        var engine = await LoadAsync([new Uri(address, "/api/events")], BenchHost.IngestKey, duration, ct);
        var size = $"{Connections} connections, {duration.TotalSeconds:N0} s, {engine.Count:N0} events";
        // The target's 50 % is against the stronger baseline: the same single-writer group commit with nothing but the append.
        report.Add(new Figure(Name, "events acknowledged (202, durable)", size, engine.Rate, "events/s",
            GroupBaseline, grouped.Rate, "≥ 5,000/s and ≥ 50%", engine.Rate >= 5_000 && engine.Rate >= 0.5 * grouped.Rate));
        report.Add(new Figure(Name, "events acknowledged (202, durable)", size, engine.Rate, "events/s", TxBaseline, perRequest.Rate));
        report.Add(new Figure(Name, "latency p50", size, engine.P50, "ms", GroupBaseline, grouped.P50, LowerIsBetter: true));
        report.Add(new Figure(Name, "latency p99", size, engine.P99, "ms", GroupBaseline, grouped.P99, "< 50 ms", engine.P99 < 50, LowerIsBetter: true));
        report.Add(new Figure(Name, "latency p99", size, engine.P99, "ms", TxBaseline, perRequest.P99, LowerIsBetter: true));
        if (engine.Errors > 0)
        {
            Console.WriteLine($"  !! {engine.Errors:N0} requests were not answered 202");
        }
    }

    /// <summary>A measured load; <see cref="ProcessCpuSeconds"/>: the bench process's CPU over the measured run (wrk only).</summary>
    internal sealed record Load(long Count, long Errors, double Rate, double P50, double P99, double? CpuSeconds = null, double Seconds = 0, double? ProcessCpuSeconds = null);

    /// <summary>The seed's purchase event configuration.</summary>
    internal const string PurchaseConfig = """
        {"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail",
         "fields": [{"path": "productName", "type": "string"}, {"path": "purchaseDate", "type": "dateTime"}]}
        """;

    internal static string Payload(long n) => string.Create(CultureInfo.InvariantCulture, $$$"""
        {"purchaseMessage": "thank you", "customerEmail": "p{{{n % Profiles + 1}}}@example.com", "productName": "Shoes", "purchaseDate": "2026-03-02T10:00:00Z",
         "orderId": "order-{{{n}}}", "amount": 129.90, "currency": "USD", "channel": "web", "store": {"id": "store-17", "region": "us-west"},
         "items": [{"sku": "SKU-1001", "quantity": 1, "price": 99.90}, {"sku": "SKU-2002", "quantity": 2, "price": 15.00}],
         "utm": {"source": "newsletter", "medium": "email", "campaign": "spring-sale"}}
        """);

    /// <summary>
    /// Load before measuring, the same for the engine and both baselines: the engine has far more code
    /// to tier up than a bare route, and on the 2-core machine its background tier-1 JIT still took a
    /// fifth of the process's CPU samples 4–12 s into the load (0.5 % at 14–20 s). 5 s for quick runs, 10 s otherwise.
    /// </summary>
    private static TimeSpan WarmUp(TimeSpan duration) => TimeSpan.FromSeconds(duration < TimeSpan.FromSeconds(10) ? 5 : 10);

    /// <summary>
    /// The load generator: <see cref="Connections"/> loops, each with its own request in flight, for the duration after
    /// the <see cref="WarmUp"/>; loop i sends to urls[i % urls.Count] (several workers share the load). <paramref name="cpu"/>,
    /// when given, is read when measuring starts and ends (the database server's CPU seconds).
    /// </summary>
    internal static async Task<Load> LoadAsync(IReadOnlyList<Uri> urls, string? key, TimeSpan duration, CancellationToken ct, Func<double>? cpu = null)
    {
        // wrk in its own process where one URL takes the load; the in-process client for several workers, or without wrk.
        if (urls.Count == 1 && WrkLoad.Executable is { } wrk)
        {
            Console.WriteLine($"    load: wrk, 1 thread, {Connections} connections, {WarmUp(duration).TotalSeconds:N0} s warm-up");
            return await WrkLoad.RunAsync(wrk, urls[0], key, WarmUp(duration), duration, ct, cpu);
        }
        Console.WriteLine($"    load: in-process HttpClient, {Connections} connections, {WarmUp(duration).TotalSeconds:N0} s warm-up");
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        long sequence = 0, count = 0, errors = 0;
        var measuring = false;
        var latencies = new List<double>[Connections];
        var clock = Stopwatch.StartNew();
        var warmUp = WarmUp(duration);
        var end = warmUp + duration;
        await using var progress = new Progress("events", (long)(duration.TotalSeconds * 1_000), () => Interlocked.Read(ref count));
        var measuredFrom = TimeSpan.Zero;
        double cpuFrom = 0;
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async worker =>
        {
            var url = urls[worker % urls.Count];
            var mine = latencies[worker] = new List<double>(100_000);
            while (clock.Elapsed < end && !ct.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sequence);
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(Payload(n), Encoding.UTF8, "application/json") };
                if (key is not null)
                {
                    request.Headers.Add("X-Api-Key", key);
                }
                request.Headers.Add("Idempotency-Key", $"bench-{n}");
                var started = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request, ct);
                await response.Content.LoadIntoBufferAsync(ct);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (!Volatile.Read(ref measuring))
                {
                    if (clock.Elapsed >= warmUp && !Interlocked.Exchange(ref measuring, true))
                    {
                        measuredFrom = clock.Elapsed;
                        cpuFrom = cpu?.Invoke() ?? 0;
                    }
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Interlocked.Increment(ref count);
                    mine.Add(elapsed);
                }
                else
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        var measured = clock.Elapsed - measuredFrom;
        double? cpuSeconds = cpu is null ? null : cpu() - cpuFrom;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        return new Load(count, errors, count / measured.TotalSeconds, Percentile(0.50), Percentile(0.99), cpuSeconds, measured.TotalSeconds);
    }

    /// <summary>
    /// Kestrel + minimal API in this process: read the body and append it to SQLite (WAL,
    /// synchronous=NORMAL as the app), 202 after the commit. Either one transaction per request, or
    /// (<paramref name="groupCommit"/>) a queue and a single writer that commits everything queued,
    /// up to <see cref="GroupCommitMax"/> per transaction, with one reused prepared INSERT.
    /// </summary>
    private static async Task<Load> BaselineAsync(string folder, TimeSpan duration, bool groupCommit, CancellationToken ct)
    {
        var file = Path.Combine(folder, groupCommit ? "baseline-group.db" : "baseline.db");
        var connectionString = new SqliteConnectionStringBuilder { DataSource = file, Pooling = true, DefaultTimeout = 30 }.ToString();
        await using (var setup = new SqliteConnection(connectionString))
        {
            await setup.OpenAsync(ct);
            await using var command = setup.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE "Events" ("Id" TEXT NOT NULL PRIMARY KEY, "ReceivedAt" TEXT NOT NULL, "IdempotencyKey" TEXT NULL UNIQUE, "Payload" TEXT NOT NULL);
                """;
            await command.ExecuteNonQueryAsync(ct);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        await using var writer = groupCommit ? new GroupWriter(connectionString) : null;
        app.MapPost("/events", async (HttpContext context, CancellationToken cancellationToken) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(cancellationToken);
            var key = context.Request.Headers["Idempotency-Key"].ToString();
            if (writer is not null)
            {
                await writer.AppendAsync(key, body, cancellationToken);
                return Results.Accepted();
            }
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
                await pragma.ExecuteNonQueryAsync(cancellationToken);
            }
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """INSERT INTO "Events" VALUES ($id, $at, $key, $payload)""";
            insert.Parameters.AddWithValue("$id", Guid.CreateVersion7().ToString());
            insert.Parameters.AddWithValue("$at", DateTime.UtcNow);
            insert.Parameters.AddWithValue("$key", key);
            insert.Parameters.AddWithValue("$payload", body);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return Results.Accepted();
        });
        await app.StartAsync(ct);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Console.WriteLine($"  baseline: {(groupCommit ? GroupBaseline : TxBaseline)}, {Connections} connections for {duration.TotalSeconds:N0} s");
        var load = await LoadAsync([new Uri(address, "/events")], null, duration, ct);
        await app.StopAsync(ct);
        return load;
    }

    /// <summary>The group-commit baseline's single writer: a bounded queue, one connection, one transaction per drained batch.</summary>
    private sealed class GroupWriter : IAsyncDisposable
    {
        private readonly Channel<(string Key, string Body, TaskCompletionSource Done)> _queue =
            Channel.CreateBounded<(string, string, TaskCompletionSource)>(new BoundedChannelOptions(5_000) { SingleReader = true });
        private readonly Task _loop;

        public GroupWriter(string connectionString) => _loop = Task.Run(() => RunAsync(connectionString));

        public async Task AppendAsync(string key, string body, CancellationToken ct)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _queue.Writer.WriteAsync((key, body, done), ct);
            await done.Task.WaitAsync(ct);
        }

        private async Task RunAsync(string connectionString)
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
                await pragma.ExecuteNonQueryAsync();
            }
            var batch = new List<(string Key, string Body, TaskCompletionSource Done)>(GroupCommitMax);
            while (await _queue.Reader.WaitToReadAsync())
            {
                while (batch.Count < GroupCommitMax && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                try
                {
                    await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
                    await using var insert = connection.CreateCommand();
                    insert.Transaction = transaction;
                    insert.CommandText = """INSERT INTO "Events" VALUES ($id, $at, $key, $payload)""";
                    var id = insert.Parameters.Add("$id", SqliteType.Text);
                    var at = insert.Parameters.Add("$at", SqliteType.Text);
                    var key = insert.Parameters.Add("$key", SqliteType.Text);
                    var payload = insert.Parameters.Add("$payload", SqliteType.Text);
                    insert.Prepare();
                    foreach (var item in batch)
                    {
                        id.Value = Guid.CreateVersion7().ToString();
                        at.Value = DateTime.UtcNow;
                        key.Value = item.Key;
                        payload.Value = item.Body;
                        await insert.ExecuteNonQueryAsync();
                    }
                    await transaction.CommitAsync();
                    batch.ForEach(item => item.Done.TrySetResult());
                }
                catch (SqliteException e)
                {
                    batch.ForEach(item => item.Done.TrySetException(e));
                }
                batch.Clear();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            await _loop;
        }
    }
}
