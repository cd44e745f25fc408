using System.Net.Http.Json;
using JourneyWorker.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>The real host on a fresh SQLite file with known keys and a fake clock.</summary>
public class JourneyWorkerApp : WebApplicationFactory<Program>
{
    public const string AdminKey = "test-admin-key-0123456789";
    public const string IngestKey = "test-ingest-key-0123456789";

    private readonly Dictionary<string, string?> _settings = [];

    public JourneyWorkerApp()
    {
        DataDirectory = Directory.CreateTempSubdirectory("journeyworker-tests-").FullName;
        _settings["ConnectionStrings:Journeys"] = $"Data Source={Path.Combine(DataDirectory, "journeys.db")}";
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

    public HttpClient Admin() => WithKey(AdminKey);

    public HttpClient Ingest() => WithKey(IngestKey);

    public HttpClient WithKey(string? key)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
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
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
        builder.ConfigureServices(services =>
        {
            // One clock for the engine and Quartz alike: schedules fire when the test advances it.
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Time);
            ConfigureTestServices(services);
        });
    }

    protected virtual void ConfigureTestServices(IServiceCollection services)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
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
