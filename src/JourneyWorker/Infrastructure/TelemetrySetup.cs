using System.Data.Common;
using System.Diagnostics.Metrics;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// OpenTelemetry for the service: metrics always (scraped at /metrics in the Prometheus format), traces and an OTLP export
/// of both when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or a per-signal endpoint) is set. Without an exporter no
/// tracer provider exists, so no span is made on any path (an unlistened ActivitySource costs a null check).
/// </summary>
public static class TelemetrySetup
{
    /// <summary>The name OpenTelemetry's metrics listener registers under (IMetricsBuilder rules name it).</summary>
    private const string OpenTelemetryListener = "OpenTelemetry";

    public static IServiceCollection AddJourneyTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<JourneyTelemetry>();
        services.AddSingleton<TelemetryGauges>();
        // Our meter is enabled through the metrics builder with the Local scope: OpenTelemetry then listens only to the
        // meter this host's IMeterFactory made, so several hosts in one process (the tests) do not count each other's.
        services.AddMetrics(m => m.EnableMetrics(JourneyTelemetry.Name, instrumentName: null, OpenTelemetryListener, MeterScope.Local));

        var otlp = new[] { "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" }
            .Any(key => !string.IsNullOrWhiteSpace(configuration[key]));
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(serviceName: configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "journeyworker", serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString(),
                    autoGenerateServiceInstanceId: false)
                .AddDetector(sp => new WorkerResourceDetector(sp.GetRequiredService<IOptions<RuntimeOptions>>().Value.WorkerId)))
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddMeter("System.Runtime");
                // Series keep their plain names (journeyworker_steps_total{…}): no otel_scope_* labels on each of them.
                metrics.AddPrometheusExporter(o => o.ScopeInfoEnabled = false);
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });

        // What a tracer provider traces, whoever makes one: the OTLP export below, or a test's in-memory exporter.
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing
            .AddSource(JourneyTelemetry.Name)
            .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOperational(context.Request.Path))
            .AddHttpClientInstrumentation());
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddOtlpExporter());
        }
        return services;
    }

    /// <summary>
    /// GET /metrics, OpenTelemetry's Prometheus exporter. Anonymous, as the hand-written endpoint was (scrapers send no
    /// API key; put it behind the network boundary). Also starts the gauges that read the database and the intake queue.
    /// </summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<TelemetryGauges>();
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/metrics", StringComparison.Ordinal) || path.StartsWithSegments("/health", StringComparison.Ordinal);

    private sealed class WorkerResourceDetector(string workerId) : IResourceDetector
    {
        public Resource Detect() => new([new KeyValuePair<string, object>("service.instance.id", workerId)]);
    }
}

/// <summary>
/// The gauges read when metrics are collected (a scrape, an OTLP export): instances by status and the due backlog from the
/// instance store, and the intake writer's queue. A collection is synchronous, so the two store reads block its thread for
/// the length of one indexed count each, as the hand-written endpoint's did; a database that fails leaves them out of that
/// collection rather than failing it.
/// </summary>
public sealed class TelemetryGauges
{
    private static readonly string[] Statuses =
        [InstanceStatus.Active, InstanceStatus.Waiting, InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Exited];

    private readonly InstanceStore _instances;
    private readonly TimeProvider _time;
    private readonly ILogger<TelemetryGauges> _logger;

    public TelemetryGauges(JourneyTelemetry telemetry, InstanceStore instances, EventWriter writer, TimeProvider time, ILogger<TelemetryGauges> logger)
    {
        _instances = instances;
        _time = time;
        _logger = logger;
        var meter = telemetry.Meter;
        meter.CreateObservableGauge("journeyworker.instances", CountByStatus, "{instance}", "Journey instances by status.");
        meter.CreateObservableGauge("journeyworker.due_backlog", DueBacklog, "{instance}", "Instances whose next step is due now.");
        meter.CreateObservableGauge("journeyworker.intake.queue_depth", () => writer.Queued, "{event}",
            "Events accepted by POST /api/events and waiting for the intake writer's next group commit.");
    }

    private IEnumerable<Measurement<long>> CountByStatus() =>
        TryRead(() => _instances.CountByStatusAsync(CancellationToken.None), out var byStatus)
            ? Statuses.Select(status => new Measurement<long>(byStatus.GetValueOrDefault(status), new KeyValuePair<string, object?>("status", status)))
            : [];

    private IEnumerable<Measurement<long>> DueBacklog()
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return TryRead(() => _instances.DueBacklogAsync(nowMs, CancellationToken.None), out var backlog) ? [new Measurement<long>(backlog)] : [];
    }

    private bool TryRead<T>(Func<Task<T>> read, out T value)
    {
        try
        {
            value = read().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or ObjectDisposedException)
        {
            TelemetryLog.GaugeFailed(_logger, e);
            value = default!;
            return false;
        }
    }
}

internal static partial class TelemetryLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "A metrics gauge could not read the database; it is left out of this collection")]
    public static partial void GaugeFailed(ILogger logger, Exception exception);
}
