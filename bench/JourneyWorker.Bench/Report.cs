using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace JourneyWorker.Bench;

/// <summary>
/// One measured figure, with the baseline measured in the same run where there is one.
/// <paramref name="Target"/> is the goal as text; <paramref name="Met"/> is null where a figure has no goal.
/// </summary>
public sealed record Figure(
    string Scenario, string Name, string Size, double Value, string Unit,
    string? BaselineName = null, double? Baseline = null, string? Target = null, bool? Met = null, bool LowerIsBetter = false)
{
    /// <summary>Speed relative to the baseline: above 100% is faster than it (for times, baseline time / our time).</summary>
    public double? Ratio => Baseline is not > 0 || Value <= 0 ? null : LowerIsBetter ? Baseline / Value : Value / Baseline;
}

public sealed record Machine(int Cores, long MemoryMiB, string Os, string Runtime, string Command, string LoadAtStart)
{
    public static Machine Current(string command) => new(
        Environment.ProcessorCount,
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        command,
        LoadAverage());

    /// <summary>The 1, 5 and 15 minute load averages (/proc/loadavg), or "" where there is none: the machine may be shared.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "";
        }
    }
}

public sealed class Report(Machine machine)
{
    private readonly List<Figure> _figures = [];

    public IReadOnlyList<Figure> Figures => _figures;

    public void Add(Figure figure)
    {
        _figures.Add(figure);
        Console.WriteLine($"  → {figure.Name}: {Format(figure.Value)} {figure.Unit}"
            + (figure.Baseline is { } b ? $" (baseline {figure.BaselineName}: {Format(b)} {figure.Unit}, ratio {figure.Ratio:P0})" : ""));
    }

    public void PrintTable(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine($"Machine: {machine.Cores} cores, {machine.MemoryMiB:N0} MiB, {machine.Os}, {machine.Runtime}");
        output.WriteLine($"Command: {machine.Command}");
        output.WriteLine($"Load average (1/5/15 min): {machine.LoadAtStart} at the start, {Machine.LoadAverage()} at the end");
        string[] header = ["scenario", "figure", "size", "value", "baseline", "ratio", "target", "met"];
        var rows = _figures.Select(f => new[]
        {
            f.Scenario, f.Name, f.Size, $"{Format(f.Value)} {f.Unit}",
            f.Baseline is { } b ? $"{Format(b)} ({f.BaselineName})" : "",
            f.Ratio is { } r ? r.ToString("P0", CultureInfo.InvariantCulture) : "",
            f.Target ?? "", f.Met switch { true => "yes", false => "NO", null => "" },
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine("| " + string.Join(" | ", header.Select((h, i) => h.PadRight(widths[i]))) + " |");
        output.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var row in rows)
        {
            output.WriteLine("| " + string.Join(" | ", row.Select((c, i) => c.PadRight(widths[i]))) + " |");
        }
    }

    public async Task WriteJsonAsync(string file)
    {
        var document = new { machine, loadAtEnd = Machine.LoadAverage(), figures = _figures.Select(f => new { f.Scenario, f.Name, f.Size, f.Value, f.Unit, f.BaselineName, f.Baseline, f.Ratio, f.Target, f.Met }) };
        await using var stream = File.Create(file);
        await JsonSerializer.SerializeAsync(stream, document, new JsonSerializerOptions(JsonSerializerOptions.Web) { WriteIndented = true });
    }

    public static string Format(double value) => value switch
    {
        >= 100 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("N1", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };
}

/// <summary>Prints done/total, rate and ETA every couple of seconds while a long step runs.</summary>
public sealed class Progress : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public Progress(string label, long total, Func<long> done)
    {
        var clock = Stopwatch.StartNew();
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var n = done();
                    var rate = n / clock.Elapsed.TotalSeconds;
                    var eta = rate > 0 && total > n ? TimeSpan.FromSeconds((total - n) / rate) : TimeSpan.Zero;
                    Console.WriteLine($"    {label}: {n:N0}/{total:N0} ({rate:N0}/s, ETA {eta:mm\\:ss})");
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
