using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Telemetry;

/// <summary>The standard OTEL_EXPORTER_OTLP_* settings turn on tracing and the OTLP export of traces and metrics; without them nothing is traced.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task With_an_otlp_endpoint_the_runs_sends_and_series_are_exported_to_it()
    {
        await using var collector = await OtlpCollector.StartAsync(Ct);
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("OTEL_EXPORTER_OTLP_ENDPOINT", collector.BaseUrl)
            .With("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"));
        await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);

        // The exporters batch (traces) and export periodically (metrics): a flush sends what they hold now.
        Assert.True(h.App.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        h.App.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        Assert.True(collector.Received("traces", "journeyworker.run"), "no run span was exported");
        Assert.True(collector.Received("traces", "journeyworker.send"), "no send span was exported");
        Assert.True(collector.Received("metrics", "journeyworker.sends"), "the sends series was not exported");
        Assert.True(collector.Received("metrics", "journeyworker.instances"), "the instances gauge was not exported");
    }

    [Fact]
    public async Task Without_an_otlp_endpoint_no_tracer_provider_is_made_and_metrics_still_are()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        Assert.Null(h.App.Services.GetService<TracerProvider>());
        Assert.NotNull(h.App.Services.GetService<MeterProvider>());
    }
}
