using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Infrastructure;

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>POST /api/events, per API key.</summary>
    public RateLimit Intake { get; set; } = new() { PermitsPerSecond = 20_000 };

    /// <summary>/t/** (opens, clicks, unsubscribes), per client IP.</summary>
    public RateLimit Tracking { get; set; } = new() { PermitsPerSecond = 50 };
}

public sealed class RateLimit
{
    [Range(1, 10_000_000)]
    public int PermitsPerSecond { get; set; }
}

/// <summary>
/// Abuse limits as one global limiter that picks its partition from the path, so that the
/// feature folders stay free of rate-limiting concerns. A token bucket refilled every second
/// allows a burst of one second's worth, then sheds load with 429 and Retry-After.
/// </summary>
public static class AbuseLimits
{
    public static IServiceCollection AddAbuseLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section)
            .Validate(o => o.Intake.PermitsPerSecond is >= 1 and <= 10_000_000 && o.Tracking.PermitsPerSecond is >= 1 and <= 10_000_000,
                "RateLimits:Intake:PermitsPerSecond and RateLimits:Tracking:PermitsPerSecond must be between 1 and 10,000,000.")
            .ValidateOnStart();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>()
            .Configure<IOptions<RateLimitOptions>>((o, limits) =>
            {
                o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => Partition(context, limits.Value));
                o.OnRejected = RejectAsync;
            });
        return services;
    }

    /// <summary>After authentication, so that intake is limited per key and unauthenticated calls are refused before they count.</summary>
    public static WebApplication UseAbuseLimits(this WebApplication app)
    {
        app.UseRateLimiter();
        return app;
    }

    private static RateLimitPartition<string> Partition(HttpContext context, RateLimitOptions limits)
    {
        var path = context.Request.Path;
        if (HttpMethods.IsPost(context.Request.Method) && path.Equals("/api/events", StringComparison.OrdinalIgnoreCase))
        {
            // Partition by the authenticated role, not the presented header: a flood of made-up keys must not create partitions.
            var role = context.User.FindFirstValue(ClaimTypes.Role) ?? "anonymous";
            return Bucket("intake:" + role, limits.Intake.PermitsPerSecond);
        }

        if (path.StartsWithSegments("/t", StringComparison.OrdinalIgnoreCase))
        {
            var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            return Bucket("tracking:" + ip, limits.Tracking.PermitsPerSecond);
        }

        return RateLimitPartition.GetNoLimiter("none");
    }

    private static RateLimitPartition<string> Bucket(string key, int permitsPerSecond) =>
        RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = permitsPerSecond,
            TokensPerPeriod = permitsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
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
