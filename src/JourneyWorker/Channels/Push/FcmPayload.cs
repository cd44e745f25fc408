using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace JourneyWorker.Channels.Push;

/// <summary>The FCM HTTP v1 wire format: request body and error classification.</summary>
internal static class FcmPayload
{
    public static JsonObject Request(PushMessage message)
    {
        var data = new JsonObject();
        foreach (var (key, value) in message.Data)
        {
            data[key] = value;
        }
        return new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["token"] = message.Token,
                ["notification"] = new JsonObject { ["title"] = message.Title, ["body"] = message.Body },
                ["data"] = data,
            },
        };
    }

    /// <summary>Maps an unsuccessful FCM answer to an outcome: dead token, transient, or permanent.</summary>
    public static SendResult Classify(HttpStatusCode status, string body, RetryConditionHeaderValue? retryAfter, DateTimeOffset now)
    {
        var (errorStatus, errorCode, text) = ParseError(body);
        var code = (int)status;
        var error = $"FCM {code} {errorCode ?? errorStatus}: {Truncate(text ?? body, 300)}".TrimEnd(' ', ':');
        if (status == HttpStatusCode.NotFound || errorStatus == "UNREGISTERED" || errorCode == "UNREGISTERED")
        {
            return new SendResult(SendOutcome.TokenDead, error);
        }
        if (status == HttpStatusCode.TooManyRequests || code >= 500)
        {
            return new SendResult(SendOutcome.RetryLater, error, RetryPolicy.RetryAfter(retryAfter, now));
        }
        if (status == HttpStatusCode.Unauthorized)
        {
            // Our access token was refused: a credential problem, not a property of this message.
            return new SendResult(SendOutcome.RetryLater, error);
        }
        return new SendResult(SendOutcome.Failed, error);
    }

    private static (string? Status, string? Code, string? Message) ParseError(string body)
    {
        try
        {
            if (JsonNode.Parse(body)?["error"] is not JsonObject error)
            {
                return (null, null, null);
            }
            string? code = null;
            if (error["details"] is JsonArray details)
            {
                code = details.OfType<JsonObject>()
                    .Select(d => d["errorCode"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null)
                    .FirstOrDefault(s => s is not null);
            }
            return (Text(error["status"]), code, Text(error["message"]));
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString();

    private static string Truncate(string text, int length) =>
        text.Length <= length ? text : string.Concat(text.AsSpan(0, length), "…");
}
