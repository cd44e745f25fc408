using System.Net.Http.Json;
using JourneyWorker.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// The real host with known keys and a fake clock, on a fresh database: a SQLite file in
/// <see cref="DataDirectory"/>, or a database of its own on the PostgreSQL pass (<see cref="TestProvider"/>).
/// </summary>
public class JourneyWorkerApp : WebApplicationFactory<Program>
{
    public const string AdminKey = "test-admin-key-0123456789";
    public const string IngestKey = "test-ingest-key-0123456789";

    private readonly Dictionary<string, string?> _settings = [];
    private readonly List<Action<IServiceCollection>> _services = [];
    private TestDatabase? _database;
    private bool _ownsDatabase = true;
    private int _cleanedUp;

    public JourneyWorkerApp()
    {
        DataDirectory = Directory.CreateTempSubdirectory("journeyworker-tests-").FullName;
        _settings["Security:AdminApiKey"] = AdminKey;
        _settings["Security:IngestApiKey"] = IngestKey;
        _settings["Email:PickupDirectory"] = Path.Combine(DataDirectory, "outbox", "email");
        _settings["Push:PickupDirectory"] = Path.Combine(DataDirectory, "outbox", "push");
        _settings["Tracking:PublicBaseUrl"] = "http://journeys.test";
        _settings["Logging:LogLevel:Default"] = "Warning";
        // Tests fire tracking requests in bursts; the abuse-limit tests set their own low limits.
        _settings["RateLimits:Tracking:PermitsPerSecond"] = "100000";
        _settings["Tracking:SigningKey"] = "test-signing-key-0123456789abcdef0123456789";
    }

    public string DataDirectory { get; }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    /// <summary>Sets a configuration value before the host starts.</summary>
    public JourneyWorkerApp With(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    /// <summary>Adds services before the host starts (a log capture, for instance); the service's own stay.</summary>
    public JourneyWorkerApp WithServices(Action<IServiceCollection> configure)
    {
        _services.Add(configure);
        return this;
    }

    /// <summary>Starts on a database another host has used, as the same service restarted would; the caller disposes it.</summary>
    public JourneyWorkerApp On(TestDatabase shared)
    {
        _database = shared;
        _ownsDatabase = false;
        return this;
    }

    /// <summary>Starts on a SQLite file whatever the pass: for a test about SQLite itself (the source of a migration).</summary>
    public JourneyWorkerApp OnSqlite()
    {
        _database = TestDatabase.CreateSqlite(DataDirectory);
        return this;
    }

    public HttpClient Admin() => WithKey(AdminKey);

    public HttpClient Ingest() => WithKey(IngestKey);

    public HttpClient WithKey(string? key)
    {
        // ClientOptions.BaseAddress: a host on a real Kestrel port (UseKestrel) sets it to that port.
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = ClientOptions.BaseAddress });
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }
        return client;
    }

    /// <summary>A DbContext on the app's database, for asserting what was (not) written.</summary>
    public JourneyDbContext Db() => Services.CreateScope().ServiceProvider.GetRequiredService<JourneyDbContext>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Made as the host is built, not in the constructor: a host that never starts costs no database.
        var database = _database ??= TestDatabase.Create(DataDirectory);
        builder.UseEnvironment("Testing");
        // The provider is also a host setting: the service reads it while registering its services (which schedulers
        // it runs), before the app configuration below is added; so are the OTLP exporter settings (whether to trace).
        foreach (var (key, value) in database.HostSettings.Concat(_settings)
            .Where(s => s.Key.StartsWith("Storage:", StringComparison.Ordinal) || s.Key.StartsWith("OTEL_", StringComparison.Ordinal)))
        {
            builder.UseSetting(key, value);
        }
        // The test's own settings come last, so that they win over the database's.
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(database.HostSettings).AddInMemoryCollection(_settings));
        builder.ConfigureServices(services =>
        {
            // One clock for the engine and Quartz alike: schedules fire when the test advances it.
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Time);
            ConfigureTestServices(services);
            _services.ForEach(configure => configure(services));
        });
    }

    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing); // stops the host first: nothing uses the database after this
        if (Interlocked.Exchange(ref _cleanedUp, 1) == 1)
        {
            return;
        }
        if (_ownsDatabase)
        {
            _database?.Dispose();
        }
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class HttpAssertions
{
    public static async Task<Microsoft.AspNetCore.Mvc.ProblemDetails> ProblemAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return System.Text.Json.JsonSerializer.Deserialize<Microsoft.AspNetCore.Mvc.ProblemDetails>(body, System.Text.Json.JsonSerializerOptions.Web)!;
    }

    public static async Task<T> OkAsync<T>(this HttpResponseMessage response, int status = 200)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {body}");
        return System.Text.Json.JsonSerializer.Deserialize<T>(body, System.Text.Json.JsonSerializerOptions.Web)!;
    }
}
