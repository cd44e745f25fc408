using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// The service's own telemetry: one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named
/// <see cref="Name"/>, exported by OpenTelemetry (see <see cref="TelemetrySetup"/>). The meter comes from the host's
/// <see cref="IMeterFactory"/>, so that several hosts in one process (the tests) each count their own. Instruments are
/// made once; recording is an add with at most two tags, which allocates nothing. Names follow OpenTelemetry's
/// conventions; the Prometheus exporter writes <c>journeyworker.steps</c> as <c>journeyworker_steps_total</c> and a
/// histogram in seconds with a <c>_seconds</c> suffix. The series are listed in the README.
/// </summary>
public sealed class JourneyTelemetry
{
    public const string Name = "JourneyWorker";

    /// <summary>The spans of event intake, instance runs and sends; static, as ActivitySource's listeners are process-wide anyway.</summary>
    public static readonly ActivitySource Source = new(Name, typeof(JourneyTelemetry).Assembly.GetName().Version?.ToString());

    // Seconds: from a poll interval (a timer on time) to minutes (a worker far behind).
    private static readonly double[] LatenessBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    // Seconds: a pickup file or a local relay is milliseconds, a remote SMTP server or FCM a fraction of a second to seconds.
    private static readonly double[] SendBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Counter<long> _eventsReceived;
    private readonly Counter<long> _eventsMatched;
    private readonly Counter<long> _eventsRouted;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _sends;
    private readonly Histogram<double> _sendDuration;
    private readonly Histogram<double> _timerLateness;
    private readonly Counter<long> _importedProfiles;
    private readonly UpDownCounter<long> _importsRunning;
    private readonly Counter<long> _emailFeedback;

    public JourneyTelemetry(IMeterFactory meters)
    {
        Meter = meters.Create(Name);
        _eventsReceived = Meter.CreateCounter<long>("journeyworker.events.received", "{event}",
            "Events stored by intake (rate() gives the intake rate).");
        _eventsMatched = Meter.CreateCounter<long>("journeyworker.events.matched", "{event}",
            "Stored events by the event configuration they matched (an event matching two counts once for each).");
        _eventsRouted = Meter.CreateCounter<long>("journeyworker.events.routed", "{instance}",
            "Journey instances that stored events resumed (route=resumed) or admitted (route=admitted).");
        _steps = Meter.CreateCounter<long>("journeyworker.steps", "{step}",
            "Journey steps executed, by node type and outcome.");
        _sends = Meter.CreateCounter<long>("journeyworker.sends", "{message}",
            "Messages handed to a channel, by channel and outcome (sent, retry, failed, skipped).");
        _sendDuration = Meter.CreateHistogram("journeyworker.send.duration", "s",
            "Time one send took on its channel (SMTP, FCM or the pickup folder), by channel and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SendBuckets });
        _timerLateness = Meter.CreateHistogram("journeyworker.timer.lateness", "s",
            "Delay from a step's due time to its execution.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatenessBuckets });
        _importedProfiles = Meter.CreateCounter<long>("journeyworker.import.profiles", "{profile}",
            "Lines of NDJSON profile imports, by outcome (imported, failed): the progress of a running import.");
        _importsRunning = Meter.CreateUpDownCounter<long>("journeyworker.imports.running", "{import}",
            "Profile imports in progress.");
        _emailFeedback = Meter.CreateCounter<long>("journeyworker.email.feedback", "{report}",
            "Bounces and complaints recorded, by kind (hardBounce, softBounce, complaint).");
    }

    public Meter Meter { get; }

    public void EventsReceived(int count)
    {
        if (count > 0)
        {
            _eventsReceived.Add(count);
        }
    }

    public void EventMatched(string eventName, int count = 1) => _eventsMatched.Add(count, new KeyValuePair<string, object?>("event", eventName));

    public void EventsRouted(int resumed, int admitted)
    {
        if (resumed > 0)
        {
            _eventsRouted.Add(resumed, new KeyValuePair<string, object?>("route", "resumed"));
        }
        if (admitted > 0)
        {
            _eventsRouted.Add(admitted, new KeyValuePair<string, object?>("route", "admitted"));
        }
    }

    public void StepExecuted(string nodeType, string outcome) =>
        _steps.Add(1, new KeyValuePair<string, object?>("node_type", nodeType), new KeyValuePair<string, object?>("outcome", outcome));

    public void MessageSent(string channel, string outcome) =>
        _sends.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", outcome));

    public void SendTook(string channel, string outcome, TimeSpan duration) =>
        _sendDuration.Record(duration.TotalSeconds,
            new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", outcome));

    public void TimerLateness(TimeSpan lateness) => _timerLateness.Record(Math.Max(0, lateness.TotalSeconds));

    public void ProfilesImported(int imported, int failed)
    {
        if (imported > 0)
        {
            _importedProfiles.Add(imported, new KeyValuePair<string, object?>("outcome", "imported"));
        }
        if (failed > 0)
        {
            _importedProfiles.Add(failed, new KeyValuePair<string, object?>("outcome", "failed"));
        }
    }

    public void EmailFeedback(string kind) => _emailFeedback.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>Counts an import as running until the returned scope is disposed.</summary>
    public ImportScope ImportStarted()
    {
        _importsRunning.Add(1);
        return new ImportScope(_importsRunning);
    }

    public readonly struct ImportScope(UpDownCounter<long> running) : IDisposable
    {
        public void Dispose() => running.Add(-1);
    }

    /// <summary>
    /// Starts a span under the W3C trace context <paramref name="traceParent"/> (stored with an instance), or a root span when
    /// there is none. Leaves <see cref="Activity.Current"/> as it was: the runner starts one per instance of a batch, side by
    /// side, and none may become the parent of the next. Null (and nothing allocated) when no one listens.
    /// </summary>
    public static Activity? StartDetached(string name, ActivityKind kind, string? traceParent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var previous = Activity.Current;
        Activity.Current = null;
        var parent = traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;
        var activity = Source.StartActivity(name, kind, parent);
        Activity.Current = previous;
        return activity;
    }

    /// <summary>
    /// The W3C traceparent of the current span, to store with what it causes later; null when this service traces nothing
    /// (no tracer listens: nothing is stored, so an untraced service writes no trace context with its instances).
    /// </summary>
    public static string? CurrentTraceParent() =>
        Source.HasListeners() && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;
}
