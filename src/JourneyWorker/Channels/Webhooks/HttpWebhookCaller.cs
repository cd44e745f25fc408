using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Webhooks;

/// <summary>One rendered webhook call; <see cref="Headers"/> are the node's own (content headers included).</summary>
public sealed record WebhookRequest(string Method, Uri Url, IReadOnlyList<KeyValuePair<string, string>> Headers, string? Body, TimeSpan Timeout,
    string IdempotencyKey);

/// <summary>What a receiver answered: its status, the start of its body, and the body as JSON when it is JSON and small enough to keep.</summary>
public sealed record WebhookResponse(int Status, string Excerpt, JsonNode? Json, string? Note)
{
    /// <summary>The step detail: "HTTP 200: {...}" with a note when the body was not kept.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"HTTP {Status}{(Excerpt.Length > 0 ? ": " + Excerpt : "")}{(Note is null ? "" : $" [{Note}]")}");
}

/// <summary>Makes one webhook call and classifies it; retries are the caller's job (durable, like message sends).</summary>
public interface IWebhookCaller
{
    Task<SendResult> CallAsync(WebhookRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Webhook calls over the "webhooks" HttpClient, whose connections only reach what <see cref="WebhookHosts"/> allows
/// (no proxy, no redirects followed). Every call is signed (<see cref="WebhookSignature"/>) and carries its
/// Idempotency-Key. 2xx succeeds; 429 and 5xx, timeouts and network errors are worth another attempt (after
/// Retry-After if given); any other answer, and a refused host, fail at once.
/// </summary>
public sealed partial class HttpWebhookCaller(IHttpClientFactory http, IOptions<WebhookOptions> options, TimeProvider time, ILogger<HttpWebhookCaller> logger)
    : IWebhookCaller
{
    public const string HttpClientName = "webhooks";

    /// <summary>A response body up to this size is kept with the instance (when JSON); a larger one is only excerpted.</summary>
    public const int MaxKeptBytes = 64 * 1024;

    /// <summary>How much of a response the step detail shows.</summary>
    public const int ExcerptLength = 500;

    private static readonly ProductInfoHeaderValue UserAgent = new("JourneyWorker-Webhook", "1.0");

    public async Task<SendResult> CallAsync(WebhookRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(options.Value.SigningKey))
        {
            return new SendResult(SendOutcome.Failed, "Webhooks:SigningKey is not set: calls are not made unsigned.");
        }

        var body = request.Body is null ? [] : Encoding.UTF8.GetBytes(request.Body);
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(LooksLikeJson(body) ? "application/json; charset=utf-8" : "text/plain; charset=utf-8");
        }
        message.Headers.UserAgent.Add(UserAgent);
        foreach (var (name, value) in request.Headers)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                // Content headers (Content-Type, ...) belong to a body; without one they have nothing to describe.
                message.Content?.Headers.Remove(name);
                message.Content?.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                message.Headers.Remove(name);
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }
        message.Headers.Add(WebhookSignature.IdempotencyHeader, request.IdempotencyKey);
        message.Headers.Add(WebhookSignature.Header, WebhookSignature.Create(options.Value.SigningKey, time.GetUtcNow().ToUnixTimeSeconds(), body));

        using var timeout = new CancellationTokenSource(request.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await http.CreateClient(HttpClientName)
                .SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var answer = await ReadAsync(response, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new SendResult(SendOutcome.Sent, Webhook: answer);
            }
            LogNotDone(logger, request.IdempotencyKey, status);
            return status == 429 || status >= 500
                ? new SendResult(SendOutcome.RetryLater, answer.Describe(), RetryPolicy.RetryAfter(response.Headers.RetryAfter, time.GetUtcNow()), answer)
                : new SendResult(SendOutcome.Failed, status is >= 300 and < 400 ? answer.Describe() + " (redirects are not followed)" : answer.Describe(), Webhook: answer);
        }
        catch (HttpRequestException e) when (Refusal(e) is { } refused)
        {
            LogRefused(logger, request.IdempotencyKey, refused.Message);
            return new SendResult(SendOutcome.Failed, refused.Message);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or IOException or OperationCanceledException)
        {
            var error = timeout.IsCancellationRequested
                ? $"No answer within {request.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s."
                : $"The call failed: {e.Message}";
            LogFailed(logger, request.IdempotencyKey, error);
            return new SendResult(SendOutcome.RetryLater, error);
        }
    }

    /// <summary>Reads at most <see cref="MaxKeptBytes"/> (plus one, to know it was more): a huge answer costs no memory.</summary>
    private static async Task<WebhookResponse> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxKeptBytes + 1];
        var read = 0;
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false)) > 0)
            {
                read += n;
            }
        }

        var status = (int)response.StatusCode;
        var text = Encoding.UTF8.GetString(buffer, 0, Math.Min(read, MaxKeptBytes));
        var excerpt = text.Length > ExcerptLength ? text[..ExcerptLength] + "…" : text;
        var declaredJson = response.Content.Headers.ContentType?.MediaType is { } type
            && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
        if (read > MaxKeptBytes)
        {
            return new WebhookResponse(status, excerpt, null, $"response over {MaxKeptBytes / 1024} KiB: not kept");
        }
        if (!declaredJson && !LooksLikeJson(buffer.AsSpan(0, read)))
        {
            return new WebhookResponse(status, excerpt, null, null);
        }
        try
        {
            return new WebhookResponse(status, excerpt, JsonNode.Parse(buffer.AsSpan(0, read)), null);
        }
        catch (JsonException)
        {
            return new WebhookResponse(status, excerpt, null, declaredJson ? "response is not valid JSON: not kept" : null);
        }
    }

    private static bool LooksLikeJson(ReadOnlySpan<byte> body)
    {
        var start = body.IndexOfAnyExcept(" \t\r\n"u8);
        return start >= 0 && body[start] is (byte)'{' or (byte)'[';
    }

    private static WebhookRefusedException? Refusal(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is WebhookRefusedException refused)
            {
                return refused;
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {IdempotencyKey} answered {Status}")]
    private static partial void LogNotDone(ILogger logger, string idempotencyKey, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {IdempotencyKey} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string idempotencyKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {IdempotencyKey} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string idempotencyKey, string error);
}
