using System.ComponentModel.DataAnnotations;

namespace JourneyWorker.Infrastructure;

public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>
    /// How long SIGTERM waits for in-flight instances to commit. What is still running after it keeps
    /// its lease until the lease expires; the next start then takes it over (Runtime:LeaseDuration).
    /// Keep it below systemd's TimeoutStopSec and docker stop's --time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}

public static class GracefulShutdown
{
    public static IServiceCollection AddGracefulShutdown(this IServiceCollection services)
    {
        services.AddOptions<ShutdownOptions>().BindConfiguration(ShutdownOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HostOptions>().Configure<Microsoft.Extensions.Options.IOptions<ShutdownOptions>>((host, shutdown) =>
            host.ShutdownTimeout = shutdown.Value.Timeout);
        return services;
    }
}
