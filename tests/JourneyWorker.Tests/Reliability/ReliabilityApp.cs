using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace JourneyWorker.Tests.Reliability;

/// <summary>The test host with every log line captured, and helpers to load a one-e-mail journey.</summary>
public sealed class ReliabilityApp : JourneyWorkerApp
{
    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The system clock instead of the fake one, for tests of the Quartz-driven background work.</summary>
    public bool RealClock { get; init; }

    protected override void ConfigureTestServices(IServiceCollection services)
    {
        services.AddSingleton<ILoggerProvider>(Logs);
        if (RealClock)
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton(TimeProvider.System);
        }
    }

    public async Task<string> PostAsync(string url, string json, int expected, CancellationToken cancellationToken)
    {
        var response = await Admin().PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True((int)response.StatusCode == expected, $"POST {url}: expected {expected}, got {(int)response.StatusCode}: {body}");
        return body;
    }

    public async Task ImportAsync(string ndjson, CancellationToken cancellationToken)
    {
        var response = await Admin().PostAsync("/api/profiles/import", new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"), cancellationToken);
        var result = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        Assert.Equal(0, result!["failed"]!.GetValue<int>());
    }

    /// <summary>Publishes "everyone in Seattle gets one e-mail whose subject names them" and returns the live version id.</summary>
    public async Task<Guid> PublishEmailJourneyAsync(CancellationToken cancellationToken, string subject = "Hello {{profile.person.name.firstName}}")
    {
        var audience = JsonNode.Parse(await PostAsync("/api/audiences", """{"name": "Seattle", "rule": "homeAddress.city = \"Seattle\""}""", 201, cancellationToken))!["id"]!.GetValue<string>();
        var journey = new JsonObject
        {
            ["name"] = "One e-mail",
            ["start"] = "read",
            ["nodes"] = new JsonArray(
                new JsonObject { ["id"] = "read", ["type"] = "readAudience", ["audience"] = audience, ["schedule"] = new JsonObject { ["frequency"] = "once" }, ["next"] = "mail" },
                new JsonObject { ["id"] = "mail", ["type"] = "email", ["subject"] = subject, ["html"] = "<p>Hi <a href=\"https://shop.example.com/\">shop</a></p>" }),
        };
        var journeyId = JsonNode.Parse(await PostAsync("/api/journeys", journey.ToJsonString(), 201, cancellationToken))!["id"]!.GetValue<string>();
        await PostAsync($"/api/journeys/{journeyId}/publish", "{}", 200, cancellationToken);
        await using var db = Db();
        return db.JourneyVersions.Single(v => v.JourneyId == Guid.Parse(journeyId) && v.Status == "live").Id;
    }

    public async Task RunAudienceAsync(Guid versionId, CancellationToken cancellationToken)
    {
        await Services.GetRequiredService<AudienceReader>().ReadAsync(versionId, testOnly: false, cancellationToken);
        await Services.GetRequiredService<InstancePoller>().DrainAsync(cancellationToken);
    }
}

public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Capture(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Capture(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // The structured values too: a secret must not hide in a property that a JSON sink would write.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
        }
    }
}
