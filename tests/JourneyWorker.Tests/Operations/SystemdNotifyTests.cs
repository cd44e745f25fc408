using System.Text.RegularExpressions;

namespace JourneyWorker.Tests.Operations;

/// <summary>
/// Type=notify as deploy/journeyworker.service declares it: the built service started with NOTIFY_SOCKET tells the socket
/// READY=1 once it has started (its database migrated) and STOPPING=1 on SIGTERM, then exits cleanly.
/// </summary>
public sealed class SystemdNotifyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_after_the_migrations_and_stopping_on_sigterm()
    {
        await using var service = ServiceProcess.Start("systemd", new Dictionary<string, string>
        {
            // No formatter named: under systemd the console then speaks journald's format.
            ["Logging:Console:FormatterName"] = "",
        });

        Assert.Equal("READY=1", await service.NextNotificationAsync(TimeSpan.FromSeconds(60), Ct));
        // Ready means migrated: every migration of this build is in the database at that moment.
        var (known, applied) = await service.MigrationsAsync(Ct);
        Assert.NotEmpty(known);
        Assert.Equal(known, applied);
        await service.Worker.WaitReadyAsync(TimeSpan.FromSeconds(10), Ct);

        service.Worker.Terminate();
        Assert.Equal("STOPPING=1", await service.NextNotificationAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(0, await service.Worker.WaitForExitAsync(TimeSpan.FromSeconds(40), Ct));

        // journald's priority prefix (<6> is Information) on what the service logged.
        Assert.Contains(service.Worker.StandardOutput, line => Regex.IsMatch(line, @"^<6>(\S+ )?JourneyWorker\.Data\.DatabaseMigrator\[", RegexOptions.None, TimeSpan.FromSeconds(1)));
    }
}
