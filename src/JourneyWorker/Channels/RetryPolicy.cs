using System.Net.Http.Headers;

namespace JourneyWorker.Channels;

/// <summary>
/// Backoff for durable send retries. Deterministic (no jitter) so that rescheduling is reproducible
/// in tests; the spread of due times across instances already de-synchronises retries.
/// </summary>
public static class RetryPolicy
{
    /// <summary>Attempts in total, the first one included, before a send counts as finally failed.</summary>
    public const int MaxAttempts = 5;

    public static readonly TimeSpan BaseDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromHours(1);

    /// <summary>A provider's Retry-After beyond this is treated as this, so one bad header cannot park a message for weeks.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(24);

    /// <summary>Delay before the next attempt after <paramref name="attempt"/> (1-based) failed: 30s·2^(n-1) capped at 1h, never shorter than the provider's Retry-After.</summary>
    public static TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exponent = Math.Clamp(attempt, 1, 30) - 1;
        var delay = TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, BaseDelay.Ticks * (1L << Math.Min(exponent, 20))));
        if (retryAfter is { } hint && hint > delay)
        {
            delay = hint < MaxRetryAfter ? hint : MaxRetryAfter;
        }
        return delay;
    }

    /// <summary>How long a provider's Retry-After header (seconds or an HTTP date) asks to wait; null without one.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }
        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }
}
