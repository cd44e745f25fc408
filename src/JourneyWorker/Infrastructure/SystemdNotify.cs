using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging.Console;

namespace JourneyWorker.Infrastructure;

public static class SystemdNotify
{
    /// <summary>
    /// systemd's Type=notify (deploy/journeyworker.service): READY=1 once the host has started, which is after the
    /// migrations (they run in a hosted service's start), and STOPPING=1 as soon as it begins to stop on SIGTERM.
    /// AddSystemd switches this on only when the parent process is systemd (or the process is PID 1); sd_notify's own
    /// rule is the NOTIFY_SOCKET variable, which also holds when the service is started through a wrapper (a shell script
    /// without exec, /usr/bin/env, systemd-run, a supervisor relaying notifications), so that is honoured too.
    /// The console speaks journald's format (priority prefixes) unless Logging:Console:FormatterName names one: AddSystemd
    /// would override even an explicit json there.
    /// </summary>
    public static IServiceCollection AddSystemdNotify(this IServiceCollection services, IConfiguration configuration)
    {
        if (!SystemdHelpers.IsSystemdService() && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            return services;
        }
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<IHostLifetime, SystemdLifetime>();
        if (string.IsNullOrEmpty(configuration["Logging:Console:FormatterName"]))
        {
            services.Configure<ConsoleLoggerOptions>(options => options.FormatterName = ConsoleFormatterNames.Systemd);
        }
        return services;
    }
}
