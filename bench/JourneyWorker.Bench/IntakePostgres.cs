using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace JourneyWorker.Bench;

/// <summary>
/// intake on PostgreSQL: POST /api/events on the real host (and, with two workers, on a second worker process, the
/// 50 connections split between them) against bare Kestrel routes in this process that append the body to the same
/// PostgreSQL database: a single writer that group-commits what is queued by binary COPY (≤ 500 rows per transaction,
/// 202 after the commit: "the bare Npgsql group-commit append"), and one INSERT per request.
/// </summary>
public static class IntakePostgres
{
    private const string Name = "intake";
    private const int GroupCommitMax = 500;
    private const string GroupBaseline = "bare Npgsql group-commit append";
    private const string TxBaseline = "bare Npgsql route, INSERT per request";

    public static async Task RunAsync(string folder, TimeSpan duration, BenchTarget target, BenchDatabase postgres, Report report, CancellationToken ct)
    {
        PostgresCpu? cpu;
        await using (var connection = await postgres.OpenAsync(ct))
        {
            cpu = await PostgresCpu.FindAsync(connection, ct);
        }
        Func<double>? cpuSeconds = cpu is null ? null : cpu.Seconds;
        var perRequest = await BaselineAsync(postgres, duration, groupCommit: false, cpuSeconds, ct);
        var grouped = await BaselineAsync(postgres, duration, groupCommit: true, cpuSeconds, ct);

        using var host = new BenchHost(folder, postgres: postgres);
        var address = host.Start();
        using var admin = host.Admin();
        await Workload.InsertProfilesAsync(host, 1, IntakeScenario.Profiles, ct);
        await Workload.PostAsync(admin, "/api/event-configs", IntakeScenario.PurchaseConfig, ct);
        await using var second = target.Workers > 1 ? await WorkerProcess.StartAsync(folder, host.Settings, ct) : null;
        List<Uri> urls = [new Uri(address, "/api/events")];
        if (second is not null)
        {
            urls.Add(new Uri(second.Address, "/api/events"));
        }

        Console.WriteLine($"  JourneyWorker POST /api/events: {IntakeScenario.Connections} connections for {duration.TotalSeconds:N0} s{(second is null ? "" : ", split over 2 workers")}");
        var engine = await IntakeScenario.LoadAsync(urls, BenchHost.IngestKey, duration, ct, cpuSeconds);
        var size = $"{IntakeScenario.Connections} connections, {duration.TotalSeconds:N0} s, {engine.Count:N0} events{target.WorkersNote}";
        report.Add(new Figure(Name, "events acknowledged (202, durable)", size, engine.Rate, "events/s",
            GroupBaseline, grouped.Rate, "≥ 50%", engine.Rate >= 0.5 * grouped.Rate));
        report.Add(new Figure(Name, "events acknowledged (202, durable)", size, engine.Rate, "events/s", TxBaseline, perRequest.Rate));
        report.Add(new Figure(Name, "latency p50", size, engine.P50, "ms", GroupBaseline, grouped.P50, LowerIsBetter: true));
        report.Add(new Figure(Name, "latency p99", size, engine.P99, "ms", GroupBaseline, grouped.P99, "< 50 ms", engine.P99 < 50, LowerIsBetter: true));
        if (engine.CpuSeconds is { } pg)
        {
            report.Add(new Figure(Name, "PostgreSQL CPU under the load", size, pg / engine.Seconds * 100, "% of a core",
                GroupBaseline, grouped.CpuSeconds / grouped.Seconds * 100, LowerIsBetter: true));
            report.Add(new Figure(Name, "events per PostgreSQL core-second", size, engine.Count / Math.Max(pg, 0.01), "events/core-s",
                GroupBaseline, grouped.CpuSeconds is { } g ? grouped.Count / Math.Max(g, 0.01) : null));
        }
        if (engine.ProcessCpuSeconds is { } own)
        {
            // The engine's and the bare append's routes run in this process: CPU per event moves less than the rate on a busy machine.
            report.Add(new Figure(Name, "process CPU per event (bench process)", size, own * 1e6 / Math.Max(1, engine.Count), "µs",
                GroupBaseline, grouped.ProcessCpuSeconds is { } g ? g * 1e6 / Math.Max(1, grouped.Count) : null, LowerIsBetter: true));
        }
        if (engine.Errors > 0)
        {
            Console.WriteLine($"  !! {engine.Errors:N0} requests were not answered 202");
        }
    }

    /// <summary>
    /// Kestrel + minimal API in this process: read the body and append it to a table of its own in the scenario's
    /// database (uuid key, unique idempotency key, the body as text), 202 after the commit. Either one INSERT per
    /// request (autocommit, pooled connections), or (<paramref name="groupCommit"/>) a queue and a single writer that
    /// COPYs everything queued, up to <see cref="GroupCommitMax"/> rows, in one transaction.
    /// </summary>
    private static async Task<IntakeScenario.Load> BaselineAsync(BenchDatabase postgres, TimeSpan duration, bool groupCommit, Func<double>? cpu, CancellationToken ct)
    {
        var table = groupCommit ? "BenchEventsGrouped" : "BenchEvents";
        await using (var setup = await postgres.OpenAsync(ct))
        {
            await Workload.ExecuteAsync(setup, $"""
                CREATE TABLE "{table}" ("Id" uuid NOT NULL PRIMARY KEY, "ReceivedAt" timestamptz NOT NULL, "IdempotencyKey" text NULL UNIQUE, "Payload" text NOT NULL)
                """, ct);
        }
        await using var source = new NpgsqlDataSourceBuilder(postgres.ConnectionString).Build();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        await using var writer = groupCommit ? new GroupWriter(source, table) : null;
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
            await using var insert = source.CreateCommand($"""INSERT INTO "{table}" VALUES (@id, @at, @key, @payload)""");
            insert.Parameters.AddWithValue("id", Guid.CreateVersion7());
            insert.Parameters.AddWithValue("at", DateTime.UtcNow);
            insert.Parameters.AddWithValue("key", key);
            insert.Parameters.AddWithValue("payload", body);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            return Results.Accepted();
        });
        await app.StartAsync(ct);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Console.WriteLine($"  baseline: {(groupCommit ? GroupBaseline : TxBaseline)}, {IntakeScenario.Connections} connections for {duration.TotalSeconds:N0} s");
        var load = await IntakeScenario.LoadAsync([new Uri(address, "/events")], null, duration, ct, cpu);
        await app.StopAsync(ct);
        return load;
    }

    /// <summary>The group-commit baseline's single writer: a bounded queue, one connection, one COPY (one transaction) per drained batch.</summary>
    private sealed class GroupWriter : IAsyncDisposable
    {
        private readonly Channel<(string Key, string Body, TaskCompletionSource Done)> _queue =
            Channel.CreateBounded<(string, string, TaskCompletionSource)>(new BoundedChannelOptions(5_000) { SingleReader = true });
        private readonly Task _loop;

        public GroupWriter(NpgsqlDataSource source, string table) => _loop = Task.Run(() => RunAsync(source, table));

        public async Task AppendAsync(string key, string body, CancellationToken ct)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _queue.Writer.WriteAsync((key, body, done), ct);
            await done.Task.WaitAsync(ct);
        }

        private async Task RunAsync(NpgsqlDataSource source, string table)
        {
            await using var connection = await source.OpenConnectionAsync();
            var batch = new List<(string Key, string Body, TaskCompletionSource Done)>(GroupCommitMax);
            while (await _queue.Reader.WaitToReadAsync())
            {
                while (batch.Count < GroupCommitMax && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                try
                {
                    await using (var copy = await connection.BeginBinaryImportAsync(
                        $"""COPY "{table}" ("Id", "ReceivedAt", "IdempotencyKey", "Payload") FROM STDIN (FORMAT BINARY)"""))
                    {
                        foreach (var item in batch)
                        {
                            await copy.StartRowAsync();
                            await copy.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid);
                            await copy.WriteAsync(DateTime.UtcNow, NpgsqlDbType.TimestampTz);
                            await copy.WriteAsync(item.Key, NpgsqlDbType.Text);
                            await copy.WriteAsync(item.Body, NpgsqlDbType.Text);
                        }
                        await copy.CompleteAsync();
                    }
                    batch.ForEach(item => item.Done.TrySetResult());
                }
                catch (NpgsqlException e)
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
