using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Infrastructure;

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>POST /api/events, per API key.</summary>
    public RateLimit Intake { get; set; } = new() { PermitsPerSecond = 20_000 };

    /// <summary>/t/** (opens, clicks, unsubscribes), per client IP.</summary>
    public RateLimit Tracking { get; set; } = new() { PermitsPerSecond = 50 };

    /// <summary>POST /dashboard/sign-in, per client IP: guessing the admin key through the form is as slow as it can be made.</summary>
    public RateLimit SignIn { get; set; } = new() { PermitsPerSecond = 5 };
}

public sealed class RateLimit
{
    [Range(1, 10_000_000)]
    public int PermitsPerSecond { get; set; }
}

/// <summary>
/// Abuse limits as one middleware that picks its bucket from the path, so that the feature folders
/// stay free of rate-limiting concerns. A token bucket refilled every second allows a burst of one
/// second's worth, then sheds load with 429 and Retry-After. Buckets refill from the clock when a
/// request looks at them: ASP.NET Core's rate limiting middleware and PartitionedRateLimiter each
/// run a 100 ms timer forever, and those wake-ups were most of the service's CPU use at idle.
/// </summary>
public static class AbuseLimits
{
    public static IServiceCollection AddAbuseLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section)
            .Validate(o => new[] { o.Intake, o.Tracking, o.SignIn }.All(l => l.PermitsPerSecond is >= 1 and <= 10_000_000),
                "RateLimits:Intake:PermitsPerSecond, RateLimits:Tracking:PermitsPerSecond and RateLimits:SignIn:PermitsPerSecond must be between 1 and 10,000,000.")
            .ValidateOnStart();
        services.AddSingleton<TokenBuckets>();
        return services;
    }

    /// <summary>After authentication, so that intake is limited per key and unauthenticated calls are refused before they count.</summary>
    public static WebApplication UseAbuseLimits(this WebApplication app)
    {
        var buckets = app.Services.GetRequiredService<TokenBuckets>();
        var limits = app.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        app.Use(async (context, next) =>
        {
            if (Partition(context, limits) is not ({ } key, var perSecond) || buckets.TryTake(key, perSecond))
            {
                await next(context);
                return;
            }
            await RejectAsync(context);
        });
        return app;
    }

    private static (string? Key, int PermitsPerSecond) Partition(HttpContext context, RateLimitOptions limits)
    {
        var path = context.Request.Path;
        if (HttpMethods.IsPost(context.Request.Method) && path.Equals("/api/events", StringComparison.OrdinalIgnoreCase))
        {
            // Partition by the authenticated role, not the presented header: a flood of made-up keys must not create partitions.
            var role = context.User.FindFirstValue(ClaimTypes.Role) ?? "anonymous";
            return ("intake:" + role, limits.Intake.PermitsPerSecond);
        }

        if (HttpMethods.IsPost(context.Request.Method) && path.Equals("/dashboard/sign-in", StringComparison.OrdinalIgnoreCase))
        {
            return ("sign-in:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"), limits.SignIn.PermitsPerSecond);
        }

        if (path.StartsWithSegments("/t", StringComparison.OrdinalIgnoreCase))
        {
            var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            return ("tracking:" + ip, limits.Tracking.PermitsPerSecond);
        }

        return (null, 0);
    }

    private static async Task RejectAsync(HttpContext context)
    {
        // A bucket refills whole every second: the next second is always the answer.
        const int seconds = 1;
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"The rate limit for this route was exceeded; retry after {seconds} s.",
            },
        });
    }
}

/// <summary>
/// Token buckets by partition key, each holding up to a second's permits and refilled to full for
/// every whole second that has passed, computed when a request takes a token: no timer runs.
/// </summary>
public sealed class TokenBuckets(TimeProvider time)
{
    // Per-IP tracking buckets come and go: past this many, full (idle) buckets are dropped.
    private const int SweepAbove = 10_000;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public bool TryTake(string key, int perSecond)
    {
        var now = time.GetTimestamp();
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (_buckets.Count >= SweepAbove)
            {
                Sweep(now);
            }
            bucket = _buckets.GetOrAdd(key, _ => new Bucket(perSecond, now));
        }
        return bucket.TryTake(now, time);
    }

    private void Sweep(long now)
    {
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.IsFullAt(now, time))
            {
                _buckets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Bucket
    {
        private readonly Lock _lock = new();
        private readonly int _limit;
        private long _replenishedAt;
        private int _tokens;

        public Bucket(int limit, long start)
        {
            _limit = limit;
            _tokens = limit;
            _replenishedAt = start;
        }

        public bool TryTake(long now, TimeProvider time)
        {
            lock (_lock)
            {
                Replenish(now, time);
                if (_tokens == 0)
                {
                    return false;
                }
                _tokens--;
                return true;
            }
        }

        public bool IsFullAt(long now, TimeProvider time)
        {
            lock (_lock)
            {
                Replenish(now, time);
                return _tokens == _limit;
            }
        }

        private void Replenish(long now, TimeProvider time)
        {
            if (time.GetElapsedTime(_replenishedAt, now) >= TimeSpan.FromSeconds(1))
            {
                _tokens = _limit;
                _replenishedAt = now;
            }
        }
    }
}
