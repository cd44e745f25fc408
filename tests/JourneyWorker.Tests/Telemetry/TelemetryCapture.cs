using System.Collections;
using System.Diagnostics;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace JourneyWorker.Tests.Telemetry;

/// <summary>
/// What a test host exports through OpenTelemetry's in-memory exporters: its spans (a tracer provider made for the test,
/// traced as the service's own configuration says) and its metrics, collected on demand.
/// </summary>
public sealed class TelemetryCapture
{
    private readonly LockedCollection<Activity> _spans = new();
    private readonly LockedCollection<MetricSnapshot> _metrics = new();

    private TelemetryCapture()
    {
    }

    /// <summary>Adds in-memory exporters to <paramref name="app"/> (before it starts); spans only when <paramref name="traces"/>.</summary>
    public static TelemetryCapture Into(JourneyWorkerApp app, bool traces = true)
    {
        var capture = new TelemetryCapture();
        app.WithServices(services =>
        {
            if (traces)
            {
                services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(capture._spans));
            }
            services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(capture._metrics));
        });
        return capture;
    }

    /// <summary>
    /// Every span ended so far. Spans of other test hosts running at the same time land here too (an ActivitySource's
    /// listeners are process-wide): select by trace id.
    /// </summary>
    public IReadOnlyList<Activity> Spans => _spans.Snapshot();

    public IReadOnlyList<Activity> InTrace(ActivityTraceId traceId) => [.. Spans.Where(s => s.TraceId == traceId)];

    /// <summary>Collects the host's metrics now (counters as totals since the start, gauges read now).</summary>
    public Metrics Collect(JourneyWorkerApp app)
    {
        _metrics.Clear();
        // The provider's flush reports false for the Prometheus reader (a pull reader has no one to push to); ours collects.
        app.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        var snapshots = _metrics.Snapshot();
        Assert.NotEmpty(snapshots);
        return new Metrics(snapshots);
    }

    public sealed class Metrics(IReadOnlyList<MetricSnapshot> snapshots)
    {
        public IReadOnlyList<string> Names => [.. snapshots.Select(s => s.Name).Distinct()];

        /// <summary>A counter's total, an up-down counter's or a gauge's value, summed over the points that carry <paramref name="tags"/>.</summary>
        public double Value(string name, params (string Key, string Value)[] tags) =>
            Points(name, tags).Sum(p => p.Type switch
            {
                MetricType.LongSum or MetricType.LongSumNonMonotonic => p.Point.GetSumLong(),
                MetricType.LongGauge => p.Point.GetGaugeLastValueLong(),
                MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => p.Point.GetSumDouble(),
                MetricType.DoubleGauge => p.Point.GetGaugeLastValueDouble(),
                _ => throw new InvalidOperationException($"{name} is a {p.Type}: use Count."),
            });

        /// <summary>How many values a histogram recorded, over the points that carry <paramref name="tags"/>.</summary>
        public long Count(string name, params (string Key, string Value)[] tags) =>
            Points(name, tags).Sum(p => p.Type == MetricType.Histogram ? p.Point.GetHistogramCount() : throw new InvalidOperationException($"{name} is no histogram."));

        private List<(MetricType Type, MetricPoint Point)> Points(string name, (string Key, string Value)[] tags)
        {
            var found = new List<(MetricType, MetricPoint)>();
            foreach (var snapshot in snapshots.Where(s => s.Name == name))
            {
                foreach (var point in snapshot.MetricPoints)
                {
                    var pointTags = new Dictionary<string, string?>(StringComparer.Ordinal);
                    foreach (var tag in point.Tags)
                    {
                        pointTags[tag.Key] = tag.Value?.ToString();
                    }
                    if (tags.All(t => pointTags.TryGetValue(t.Key, out var v) && v == t.Value))
                    {
                        found.Add((snapshot.MetricType, point));
                    }
                }
            }
            return found;
        }
    }

    /// <summary>The exporters add from whichever thread ends a span or collects: a list behind a lock.</summary>
    private sealed class LockedCollection<T> : ICollection<T>
    {
        private readonly List<T> _items = [];
        private readonly Lock _lock = new();

        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<T> Snapshot()
        {
            lock (_lock)
            {
                return [.. _items];
            }
        }

        public void Add(T item)
        {
            lock (_lock)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_lock)
            {
                _items.Clear();
            }
        }

        public bool Contains(T item) => Snapshot().Contains(item);

        public void CopyTo(T[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(T item)
        {
            lock (_lock)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
