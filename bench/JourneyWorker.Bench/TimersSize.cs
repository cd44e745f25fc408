using System.Globalization;

namespace JourneyWorker.Bench;

/// <summary>
/// The timers scenario's size: how many instances wait, how many come due over the window, and how long the process
/// settles and is measured idle. Default: 1,000,000 waiting, 200,000 due over 60 s; quick: 50,000 and 5,000 over 10 s.
/// <c>--waiting N</c> and <c>--due-per-second R</c> set the size (10,000,000 and 10,000 a second for a minute).
/// </summary>
public sealed record TimersSize(long Waiting, long Due, TimeSpan Window, TimeSpan Idle, TimeSpan Settle)
{
    public static TimersSize For(bool quick, long? waiting, long? duePerSecond)
    {
        var window = TimeSpan.FromSeconds(quick ? 10 : 60);
        var n = waiting ?? (quick ? 50_000 : 1_000_000);
        var due = duePerSecond is { } rate ? (long)(rate * window.TotalSeconds) : quick ? 5_000 : 200_000;
        // After the bulk load the process is busy for a while (tiered JIT, the GC, the WAL checkpoint; on PostgreSQL the
        // Read Audience's one scan of every profile), longer after a larger load.
        var settle = TimeSpan.FromSeconds((quick ? 30 : 60) + Math.Max(0, n - 1_000_000) / 1_000_000 * 5);
        return new TimersSize(n, Math.Min(n, due), window, TimeSpan.FromSeconds(quick ? 5 : 20), settle);
    }

    public double DuePerSecond => Due / Window.TotalSeconds;

    public string DueNote => string.Create(CultureInfo.InvariantCulture, $"{Due:N0} of {Waiting:N0} timers due over {Window.TotalSeconds:N0} s ({DuePerSecond:N0}/s)");
}

/// <summary>
/// Peak resident memory of this process since a mark: Linux's VmHWM, reset by writing 5 to /proc/self/clear_refs, so
/// the host phase's peak can be told apart from the row generator's. Elsewhere (no procfs) it is the lifetime peak.
/// </summary>
public static class PeakRss
{
    /// <summary>Collects what the generator left and starts a new peak; false when the platform cannot reset it.</summary>
    public static bool Mark()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak RSS in MiB since the last <see cref="Mark"/> (VmHWM), or the process's lifetime peak.</summary>
    public static double SinceMarkMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kib / 1024.0;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
