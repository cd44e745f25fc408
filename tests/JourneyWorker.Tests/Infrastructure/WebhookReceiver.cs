using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>A call as the receiver saw it, with the outcome of its own signature check.</summary>
public sealed record WebhookReceived(
    string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body, string? ContentType,
    string IdempotencyKey, long SignedAt);

/// <summary>A scripted answer; <paramref name="Hold"/> answers only when the caller gives up (a receiver that hangs).</summary>
public sealed record WebhookReply(int Status, string Body, string ContentType = "application/json", string? RetryAfter = null, string? Location = null,
    bool Hold = false);

/// <summary>
/// A webhook receiver on loopback (Kestrel on 127.0.0.1, a free port) that does what a real one should: it checks
/// X-JourneyWorker-Signature with the shared key (HMAC-SHA256 over "t.body", constant-time compare) and requires an
/// Idempotency-Key, refusing the call (401/400) otherwise, then answers JSON. The check is written here from the
/// documented format, not with the product's code, so a drift between the two fails the tests.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const string SigningKey = "test-webhook-signing-key-0123456789abcdef";

    private readonly ConcurrentQueue<WebhookReceived> _calls = new();
    private readonly ConcurrentQueue<WebhookReply> _scripted = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";
    public int Port { get; private set; }

    /// <summary>Calls that passed the signature and idempotency checks, in order.</summary>
    public IReadOnlyList<WebhookReceived> Calls => [.. _calls];

    /// <summary>Why calls were refused (bad signature, missing key...): a passing test expects none.</summary>
    public IReadOnlyList<string> Problems => [.. _problems];

    /// <summary>The answer when nothing is scripted.</summary>
    public WebhookReply Default { get; set; } = new(200, """{"tier": "gold", "points": 42, "nested": {"code": "A-1"}}""");

    /// <summary>Completes when a call arrives (reset by the test when it waits for the next one).</summary>
    public TaskCompletionSource Arrived { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken = default)
    {
        var receiver = new WebhookReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(receiver.HandleAsync);
        await app.StartAsync(cancellationToken);
        receiver._app = app;
        receiver.BaseUrl = app.Urls.First().TrimEnd('/');
        receiver.Port = new Uri(receiver.BaseUrl).Port;
        return receiver;
    }

    /// <summary>The next call gets this answer; queue several for several calls.</summary>
    public void ReplyNext(WebhookReply reply) => _scripted.Enqueue(reply);

    /// <summary>Allows <paramref name="hosts"/> and sets the shared signing key on the app under test.</summary>
    public static JourneyWorkerApp Allow(JourneyWorkerApp app, params string[] hosts)
    {
        for (var i = 0; i < hosts.Length; i++)
        {
            app.With($"Webhooks:AllowedHosts:{i}", hosts[i]);
        }
        return app.With("Webhooks:SigningKey", SigningKey);
    }

    /// <summary>Checks a signature header as a receiver would; null when it verifies, else why not.</summary>
    public static string? Verify(string header, byte[] body, out long signedAt)
    {
        signedAt = 0;
        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out signedAt))
        {
            return $"no t in '{header}'";
        }
        if (!parts.TryGetValue("v1", out var v1) || v1.Length != 64 || v1 != v1.ToLowerInvariant())
        {
            return $"no lower-case hex v1 in '{header}'";
        }
        byte[] signed = [.. Encoding.UTF8.GetBytes(t + "."), .. body];
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(SigningKey), signed);
        return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(v1), expected) ? null : "signature does not verify";
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        if (Verify(request.Headers["X-JourneyWorker-Signature"].ToString(), body, out var signedAt) is { } problem)
        {
            _problems.Enqueue(problem);
            context.Response.StatusCode = 401;
            return;
        }
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0)
        {
            _problems.Enqueue("no Idempotency-Key");
            context.Response.StatusCode = 400;
            return;
        }

        _calls.Enqueue(new WebhookReceived(request.Method, request.Path, request.QueryString.Value ?? "",
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            Encoding.UTF8.GetString(body), request.ContentType, key, signedAt));
        var reply = _scripted.TryDequeue(out var next) ? next : Default;
        Arrived.TrySetResult();
        if (reply.Hold)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }
        context.Response.StatusCode = reply.Status;
        if (reply.RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = reply.RetryAfter;
        }
        if (reply.Location is not null)
        {
            context.Response.Headers.Location = reply.Location;
        }
        context.Response.ContentType = reply.ContentType;
        await context.Response.WriteAsync(reply.Body, context.RequestAborted);
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
