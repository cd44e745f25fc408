using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace JourneyWorker.Tests.Telemetry;

/// <summary>
/// A loopback stand-in for an OpenTelemetry collector's OTLP/HTTP receiver: keeps every export request it is sent
/// (POST /v1/traces, /v1/metrics, /v1/logs with a protobuf body) and answers 200 as a collector does.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly ConcurrentQueue<(string Signal, byte[] Body)> _exports = new();
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<OtlpCollector> StartAsync(CancellationToken cancellationToken)
    {
        var collector = new OtlpCollector();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            collector._exports.Enqueue((signal, body.ToArray()));
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync(cancellationToken);
        collector._app = app;
        collector.BaseUrl = app.Urls.First().TrimEnd('/');
        return collector;
    }

    /// <summary>Whether an export of <paramref name="signal"/> (traces, metrics) has carried <paramref name="text"/> (a name, as UTF-8 in the protobuf).</summary>
    public bool Received(string signal, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return _exports.Any(e => e.Signal == signal && e.Body.AsSpan().IndexOf(bytes) >= 0);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
