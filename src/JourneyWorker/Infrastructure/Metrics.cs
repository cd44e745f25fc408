using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// Process-wide counters and histograms rendered in the Prometheus text format. Kept in-house:
/// a handful of series does not justify an exporter dependency.
/// </summary>
public sealed class JourneyMetrics
{
    private static readonly double[] LatenessBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
    private readonly ConcurrentDictionary<(string Name, string Labels), long> _counters = new();
    private readonly ConcurrentDictionary<string, string> _help = new();
    private readonly Histogram _lateness = new(LatenessBuckets);

    public void Count(string name, string help, long by = 1, params (string Key, string Value)[] labels)
    {
        _help.TryAdd(name, help);
        _counters.AddOrUpdate((name, FormatLabels(labels)), by, (_, v) => v + by);
    }

    public void StepExecuted(string outcome) => Count("journeyworker_steps_total", "Journey steps executed, by outcome.", 1, ("outcome", outcome));
    public void MessageSent(string channel, string outcome) => Count("journeyworker_sends_total", "Messages handed to a channel, by channel and outcome.", 1, ("channel", channel), ("outcome", outcome));
    public void EventsReceived(int count) => Count("journeyworker_events_received_total", "Events accepted by intake (rate() gives the intake rate).", count);
    public void TimerLateness(TimeSpan lateness) => _lateness.Observe(Math.Max(0, lateness.TotalSeconds));

    public async Task WriteAsync(StringBuilder text, InstanceStore instances, long nowMs, CancellationToken cancellationToken)
    {
        foreach (var group in _counters.GroupBy(c => c.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {group.Key} {_help[group.Key]}\n# TYPE {group.Key} counter\n");
            foreach (var series in group.OrderBy(s => s.Key.Labels, StringComparer.Ordinal))
            {
                text.Append(CultureInfo.InvariantCulture, $"{group.Key}{series.Key.Labels} {series.Value}\n");
            }
        }

        _lateness.Write(text, "journeyworker_timer_lateness_seconds", "Delay from a step's due time to its execution.");

        var byStatus = await instances.CountByStatusAsync(cancellationToken);
        text.Append("# HELP journeyworker_instances Journey instances by status.\n# TYPE journeyworker_instances gauge\n");
        foreach (var status in new[] { InstanceStatus.Active, InstanceStatus.Waiting, InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Exited })
        {
            var count = byStatus.GetValueOrDefault(status);
            text.Append(CultureInfo.InvariantCulture, $"journeyworker_instances{{status=\"{status}\"}} {count}\n");
        }

        var backlog = await instances.DueBacklogAsync(nowMs, cancellationToken);
        text.Append(CultureInfo.InvariantCulture, $"# HELP journeyworker_due_backlog Instances whose next step is due now.\n# TYPE journeyworker_due_backlog gauge\njourneyworker_due_backlog {backlog}\n");
    }

    private static string FormatLabels((string Key, string Value)[] labels) =>
        labels.Length == 0 ? "" : "{" + string.Join(',', labels.Select(l => $"{l.Key}=\"{Escape(l.Value)}\"")) + "}";

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _buckets = new long[bounds.Length];
        private long _count;
        private double _sum;
        private readonly Lock _lock = new();

        public void Observe(double value)
        {
            lock (_lock)
            {
                for (var i = 0; i < bounds.Length; i++)
                {
                    if (value <= bounds[i])
                    {
                        _buckets[i]++;
                    }
                }
                _count++;
                _sum += value;
            }
        }

        public void Write(StringBuilder text, string name, string help)
        {
            lock (_lock)
            {
                text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
                for (var i = 0; i < bounds.Length; i++)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{bounds[i]}\"}} {_buckets[i]}\n");
                }
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"+Inf\"}} {_count}\n{name}_sum {_sum}\n{name}_count {_count}\n");
            }
        }
    }
}

public static class MetricsEndpoints
{
    public static IServiceCollection AddJourneyMetrics(this IServiceCollection services) => services.AddSingleton<JourneyMetrics>();

    public static WebApplication MapMetrics(this WebApplication app)
    {
        app.MapGet("/metrics", async (JourneyMetrics metrics, InstanceStore instances, TimeProvider time, CancellationToken cancellationToken) =>
        {
            var text = new StringBuilder();
            await metrics.WriteAsync(text, instances, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
            return TypedResults.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}
