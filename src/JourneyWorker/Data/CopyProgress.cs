using System.Diagnostics;

namespace JourneyWorker.Data;

/// <summary>Rows copied into one table, with a progress line about every two seconds so that a long copy shows it is moving.</summary>
public sealed class CopyProgress(TextWriter output, string table, long expected)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastReport;

    public long Rows { get; private set; }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Row()
    {
        // The clock is looked at once per few thousand rows: reading it per row would cost more than the row.
        if ((++Rows & 0xFFF) == 0 && _clock.Elapsed - _lastReport >= Interval)
        {
            _lastReport = _clock.Elapsed;
            output.WriteLine(FormattableString.Invariant(
                $"  {table}: {Rows:N0} of {expected:N0} rows ({100.0 * Rows / Math.Max(expected, 1):F0} %), {RowsPerSecond(Rows, _lastReport):N0} rows/s"));
        }
    }

    public void Done() => output.WriteLine(FormattableString.Invariant(
        $"  {table}: {Rows:N0} rows in {_clock.Elapsed.TotalSeconds:F1} s ({RowsPerSecond(Rows, _clock.Elapsed):N0} rows/s)"));

    public static double RowsPerSecond(long rows, TimeSpan elapsed) => rows / Math.Max(elapsed.TotalSeconds, 0.001);
}
