using System.Diagnostics.Metrics;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Deliverability;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime;
using JourneyWorker.Tracking;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Simulation;

/// <summary>
/// The engine's node stepper as a simulation uses it: the host's templates, time zones, message ids and webhook hosts,
/// with channels that refuse every send (the simulator never asks them; if it ever did, nothing would leave) and a meter
/// of its own that nothing reads, so simulated sends and skips never show in the live metrics.
/// </summary>
public static class SimulationServices
{
    public static Simulator Simulator(IServiceProvider services)
    {
        var channels = new NoChannels();
        var dispatcher = new MessageDispatcher(
            channels, channels, channels,
            services.GetRequiredService<WebhookHosts>(),
            services.GetRequiredService<IOptions<WebhookOptions>>(),
            services.GetRequiredService<TemplateRenderer>(),
            services.GetRequiredService<MessageDecorator>(),
            services.GetRequiredService<ProfileTimeZones>(),
            services.GetRequiredService<MessageIds>(),
            services.GetRequiredService<ReturnPaths>(),
            new JourneyTelemetry(DetachedMeters.Instance),
            services.GetRequiredService<TimeProvider>());
        return new Simulator(new NodeStepper(dispatcher, services.GetRequiredService<TemplateRenderer>(), services.GetRequiredService<ProfileTimeZones>()));
    }

    private sealed class NoChannels : IEmailSender, IPushSender, IWebhookCaller
    {
        private static readonly SendResult Refused = new(SendOutcome.Failed, "A simulation sends nothing.");

        public Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken) => Task.FromResult(Refused);

        public Task<SendResult> SendAsync(PushMessage message, CancellationToken cancellationToken) => Task.FromResult(Refused);

        public Task<SendResult> CallAsync(WebhookRequest request, CancellationToken cancellationToken) => Task.FromResult(Refused);
    }

    /// <summary>Meters no listener is enabled for: the host's metrics listen only to its own meter factory's (MeterScope.Local).</summary>
    private sealed class DetachedMeters : IMeterFactory
    {
        public static readonly DetachedMeters Instance = new();

        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
