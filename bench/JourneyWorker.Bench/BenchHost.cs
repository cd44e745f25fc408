using System.Net;
using JourneyWorker.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Bench;

/// <summary>
/// The real JourneyWorker host (Program, every service, the real clock) on Kestrel bound to
/// 127.0.0.1 and an ephemeral port, in this process, on a SQLite file inside the bench's temp folder, or on the
/// scenario's PostgreSQL database when one is given.
/// </summary>
public sealed class BenchHost : WebApplicationFactory<Program>
{
    public const string AdminKey = "bench-admin-key-0123456789";
    public const string IngestKey = "bench-ingest-key-0123456789";
    private const string ProviderVariable = "Storage__Provider";
    private const string ConnectionVariable = "ConnectionStrings__Journeys";

    private readonly Dictionary<string, string?> _settings = [];

    public BenchHost(string folder, IDictionary<string, string?>? settings = null, BenchDatabase? postgres = null)
    {
        Folder = folder;
        DatabaseFile = Path.Combine(folder, "journeys.db");
        Postgres = postgres;
        if (postgres is null)
        {
            _settings["ConnectionStrings:Journeys"] = $"Data Source={DatabaseFile}";
        }
        else
        {
            _settings["Storage:Provider"] = "PostgreSql";
            _settings["ConnectionStrings:Journeys"] = postgres.ConnectionString;
            // Program reads the provider while it registers services (the clustered Quartz store), before the factory's
            // in-memory settings are applied: environment variables are there from the start. Removed on dispose.
            Environment.SetEnvironmentVariable(ProviderVariable, "PostgreSql");
            Environment.SetEnvironmentVariable(ConnectionVariable, postgres.ConnectionString);
        }
        _settings["Security:AdminApiKey"] = AdminKey;
        _settings["Security:IngestApiKey"] = IngestKey;
        _settings["Email:PickupDirectory"] = Path.Combine(folder, "outbox", "email");
        _settings["Push:PickupDirectory"] = Path.Combine(folder, "outbox", "push");
        _settings["Tracking:PublicBaseUrl"] = "http://journeys.bench";
        _settings["Tracking:SigningKey"] = "bench-signing-key-0123456789abcdef0123456789";
        _settings["Logging:LogLevel:Default"] = "Warning";
        _settings["Runtime:Enabled"] = "false";
        // The intake's abuse limit (20,000 events/s per API key by default) would cap the measured rate below what the
        // engine takes; the bare routes it is compared with have none. Operators raise it the same way.
        _settings["RateLimits:Intake:PermitsPerSecond"] = "10000000";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
        // Content root = the temp folder: nothing of the repository's data/ or appsettings.json is used.
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_JOURNEYWORKER", folder);
        UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
    }

    public string Folder { get; }
    public string DatabaseFile { get; }

    /// <summary>The scenario's PostgreSQL database, or null on SQLite.</summary>
    public BenchDatabase? Postgres { get; }

    /// <summary>Everything this host was configured with: a second worker process gets the same.</summary>
    public IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <summary>Starts Kestrel (and so migrations and hosted services) and returns the bound base address.</summary>
    public Uri Start()
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address);
    }

    public HttpClient Admin()
    {
        var client = CreateClient();
        client.Timeout = TimeSpan.FromMinutes(10);
        client.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
        return client;
    }

    /// <summary>A raw connection on the app's file with the app's per-connection settings.</summary>
    public SqliteConnection OpenConnection()
    {
        if (Postgres is not null)
        {
            throw new InvalidOperationException("The host runs on PostgreSQL: use Postgres.OpenAsync.");
        }
        var connection = new SqliteConnection($"Data Source={DatabaseFile}");
        connection.Open();
        Services.GetRequiredService<SqlitePragmaInterceptor>().Apply(connection);
        return connection;
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
        if (Postgres is not null)
        {
            Environment.SetEnvironmentVariable(ProviderVariable, null);
            Environment.SetEnvironmentVariable(ConnectionVariable, null);
        }
    }
}
