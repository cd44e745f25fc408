namespace JourneyWorker.Infrastructure;

public static class RequestLimits
{
    /// <summary>Default body limit for admin routes; routes that stream more (import) raise it for themselves.</summary>
    public const long DefaultMaxBodyBytes = 4 * 1024 * 1024;

    public static IServiceCollection AddRequestLimits(this IServiceCollection services)
    {
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = DefaultMaxBodyBytes);
        return services;
    }
}
