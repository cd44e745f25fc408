using System.Net.Sockets;
using System.Text;
using JourneyWorker.Data;
using JourneyWorker.Testing;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace JourneyWorker.Tests.Operations;

/// <summary>
/// The built service as the shipped unit runs it (<see cref="WorkerProcess"/>, Production) on a test database of its own,
/// and the Unix datagram socket systemd would listen on for its notifications (NOTIFY_SOCKET).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly string _folder;
    private readonly TestDatabase _database;
    private readonly Socket _notify;

    private ServiceProcess(string folder, TestDatabase database, Socket notify, WorkerProcess worker)
    {
        _folder = folder;
        _database = database;
        _notify = notify;
        Worker = worker;
    }

    public WorkerProcess Worker { get; }

    /// <summary>Binds the notification socket, then starts the service with NOTIFY_SOCKET naming it and these settings.</summary>
    public static ServiceProcess Start(string name, IReadOnlyDictionary<string, string> settings)
    {
        var folder = Directory.CreateTempSubdirectory("journeyworker-service-").FullName;
        var database = TestDatabase.Create(folder);
        var socketPath = Path.Combine(folder, "notify.sock");
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        var all = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Security:AdminApiKey"] = JourneyWorkerApp.AdminKey,
            ["Security:IngestApiKey"] = JourneyWorkerApp.IngestKey,
            ["Tracking:SigningKey"] = "service-signing-key-0123456789abcdef0123",
            ["NOTIFY_SOCKET"] = socketPath,
        };
        foreach (var (key, value) in database.HostSettings)
        {
            all[key] = value!;
        }
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        return new ServiceProcess(folder, database, notify, WorkerProcess.Start(name, folder, all));
    }

    /// <summary>The next notification (e.g. "READY=1"); fails with the service's last output if it exits or the time is up.</summary>
    public async Task<string> NextNotificationAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            poll.CancelAfter(TimeSpan.FromMilliseconds(250));
            try
            {
                var received = await _notify.ReceiveAsync(buffer, SocketFlags.None, poll.Token);
                return Encoding.UTF8.GetString(buffer, 0, received);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A short wait, then look whether the service is still there.
            }
            Assert.False(Worker.HasExited, $"{Worker.Name} exited before notifying:\n{Worker.Tail(40)}");
        }
        throw new TimeoutException($"{Worker.Name} sent no notification within {timeout.TotalSeconds:F0} s:\n{Worker.Tail(40)}");
    }

    /// <summary>The migrations this build has, and those applied to the service's database right now.</summary>
    public async Task<(IReadOnlyList<string> Known, IReadOnlyList<string> Applied)> MigrationsAsync(CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(_database.HostSettings).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = "Testing", ApplicationName = "JourneyWorker", ContentRootPath = _folder });
        services.AddJourneyDatabase();
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>().Database;
        return ([.. db.GetMigrations()], [.. await db.GetAppliedMigrationsAsync(cancellationToken)]);
    }

    public async ValueTask DisposeAsync()
    {
        await Worker.DisposeAsync();
        _notify.Dispose();
        _database.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
