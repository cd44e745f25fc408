using System.Net;

namespace JourneyWorker.Tests.Infrastructure;

public sealed class HostTests : IClassFixture<JourneyWorkerApp>
{
    private readonly JourneyWorkerApp _app;

    public HostTests(JourneyWorkerApp app) => _app = app;

    [Fact]
    public async Task Ready_after_migrations_and_live()
    {
        var client = _app.WithKey(null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live", TestContext.Current.CancellationToken)).StatusCode);
        var ready = await client.GetAsync("/health/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Swagger_declares_the_api_key_scheme()
    {
        var json = await _app.WithKey(null).GetStringAsync("/swagger/v1/swagger.json", TestContext.Current.CancellationToken);
        Assert.Contains("\"X-Api-Key\"", json, StringComparison.Ordinal);
        Assert.Contains("/api/profiles/{namespace}/{identity}", json, StringComparison.Ordinal);
        var ui = await _app.WithKey(null).GetAsync("/swagger/index.html", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
    }

    [Theory]
    [InlineData(null, "missing")]
    [InlineData("wrong-key", "does not hold a valid key")]
    [InlineData(JourneyWorkerApp.IngestKey, "does not hold a valid key")]
    public async Task Admin_routes_refuse_missing_wrong_and_ingest_keys(string? key, string reason)
    {
        var response = await _app.WithKey(key).GetAsync("/api/profiles/email/a@example.com", TestContext.Current.CancellationToken);
        var problem = await response.ProblemAsync(401);
        Assert.Contains(reason, problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_are_prometheus_text()
    {
        var text = await _app.WithKey(null).GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("# TYPE journeyworker_instances gauge", text, StringComparison.Ordinal);
        // OpenTelemetry's exporter writes a series without labels with empty braces.
        Assert.Matches(@"(?m)^journeyworker_due_backlog(\{\})? 0$", text);
    }
}

public sealed class MissingKeyTests
{
    [Theory]
    [InlineData("Security:AdminApiKey")]
    [InlineData("Security:IngestApiKey")]
    public void Outside_development_the_service_refuses_to_start_without_a_key_and_names_it(string missing)
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With(missing, ""));
        Assert.Contains(missing, error, StringComparison.Ordinal);
    }
}

public sealed class SharedSigningKeyTests
{
    [Fact]
    public void On_postgresql_the_service_refuses_to_start_without_a_shared_tracking_key_and_names_it()
    {
        // No server behind this connection string: the refusal must come before any worker touches the database.
        var error = StartupFailure.Of(() => new JourneyWorkerApp()
            .With("Storage:Provider", "PostgreSql")
            .With("ConnectionStrings:Journeys", "Host=127.0.0.1;Port=1;Database=none;Timeout=1")
            .With("Tracking:SigningKey", ""));
        Assert.Contains("Tracking:SigningKey must be set, to the same value on every worker", error, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_shared_key_set_the_same_start_goes_on_to_the_database()
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp()
            .With("Storage:Provider", "PostgreSql")
            .With("ConnectionStrings:Journeys", "Host=127.0.0.1;Port=1;Database=none;Timeout=1"));
        Assert.DoesNotContain("Tracking:SigningKey", error, StringComparison.Ordinal);
        Assert.Contains("Npgsql", error, StringComparison.Ordinal);
    }
}
