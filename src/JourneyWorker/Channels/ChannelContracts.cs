namespace JourneyWorker.Channels;

/// <summary>
/// One rendered e-mail. <paramref name="MessageId"/> has no angle brackets, e.g. "k5bq3xw2m4ja7r2c.12.first@shop.example";
/// <paramref name="ReturnPath"/> is the envelope sender (where bounces go), null for the SMTP client's default (From).
/// </summary>
public sealed record EmailMessage(string MessageId, string To, string Subject, string Html, string? Text,
    IReadOnlyDictionary<string, string> Headers, string? ReturnPath = null);

/// <summary>One rendered push notification for a single device token.</summary>
public sealed record PushMessage(string MessageId, string Token, string Platform, string Title, string Body,
    IReadOnlyDictionary<string, string> Data);

public enum SendOutcome
{
    /// <summary>Accepted by the provider (or written to the pickup folder).</summary>
    Sent,
    /// <summary>Transient problem: try again later, after <see cref="SendResult.RetryAfter"/> if given.</summary>
    RetryLater,
    /// <summary>Permanent rejection of this message; retrying will not help.</summary>
    Failed,
    /// <summary>The push token is no longer valid and must be retired.</summary>
    TokenDead,
}

/// <summary>One attempt's outcome; <c>Webhook</c> is what a webhook's receiver answered (null for e-mail and push, and when no answer came).</summary>
public sealed record SendResult(SendOutcome Outcome, string? Error = null, TimeSpan? RetryAfter = null, Webhooks.WebhookResponse? Webhook = null)
{
    public static readonly SendResult Sent = new(SendOutcome.Sent);
}

/// <summary>Makes one delivery attempt and classifies it; retries are the caller's job.</summary>
public interface IEmailSender
{
    Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken);
}

/// <summary>Makes one delivery attempt and classifies it; retries are the caller's job.</summary>
public interface IPushSender
{
    Task<SendResult> SendAsync(PushMessage message, CancellationToken cancellationToken);
}
