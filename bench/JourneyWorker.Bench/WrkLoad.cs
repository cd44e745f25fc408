using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace JourneyWorker.Bench;

/// <summary>
/// The intake load from wrk (Debian's package) in a process of its own: one thread, <see cref="IntakeScenario.Connections"/>
/// connections, the same bodies and headers as the in-process client (a unique Idempotency-Key per request). The
/// in-process <c>HttpClient</c> shares the bench process's thread pool and JIT with the route it measures, which
/// understates a bare route most; wrk costs the machine far less per request. Installed with apt-get when missing and
/// run as root; where it cannot be had, the scenarios fall back to the in-process client and say so.
/// </summary>
internal static class WrkLoad
{
    /// <summary>Whether to use wrk (set from --load; on by default).</summary>
    public static bool Enabled { get; set; } = true;

    private static readonly Lazy<string?> Path = new(Find);

    /// <summary>The wrk executable, installing it first when it is missing; null when it cannot be had.</summary>
    public static string? Executable => Enabled ? Path.Value : null;

    private static string? Find()
    {
        if (Which("wrk") is { } found)
        {
            return found;
        }
        if (Environment.UserName != "root" || Which("apt-get") is null)
        {
            Console.WriteLine("  (wrk is not installed and cannot be installed here: the in-process client makes the load)");
            return null;
        }
        Console.WriteLine("  installing wrk (Debian's package) for the HTTP load");
        Run("apt-get", "install -y wrk");
        if (Which("wrk") is null)
        {
            Run("apt-get", "update");
            Run("apt-get", "install -y wrk");
        }
        return Which("wrk") ?? Missing();

        static string? Missing()
        {
            Console.WriteLine("  (wrk could not be installed: the in-process client makes the load)");
            return null;
        }
    }

    /// <summary>
    /// A warm-up run, then the measured one; <paramref name="cpu"/> and this process's CPU (wrk runs apart) are read around
    /// the measured run only.
    /// </summary>
    public static async Task<IntakeScenario.Load> RunAsync(string wrk, Uri url, string? key, TimeSpan warmUp, TimeSpan duration, CancellationToken ct, Func<double>? cpu)
    {
        var folder = Directory.CreateTempSubdirectory("jw-wrk-");
        try
        {
            var script = System.IO.Path.Combine(folder.FullName, "intake.lua");
            await File.WriteAllTextAsync(script, Script(key), ct);
            await RunWrkAsync(wrk, script, url, warmUp, "warm", ct);
            var cpuFrom = cpu?.Invoke() ?? 0;
            var processFrom = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var result = await RunWrkAsync(wrk, script, url, duration, "run", ct);
            double? cpuSeconds = cpu is null ? null : cpu() - cpuFrom;
            var processSeconds = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - processFrom).TotalSeconds;
            return result with { CpuSeconds = cpuSeconds, ProcessCpuSeconds = processSeconds };
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<IntakeScenario.Load> RunWrkAsync(string wrk, string script, Uri url, TimeSpan duration, string phase, CancellationToken ct)
    {
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var start = new ProcessStartInfo(wrk)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-t1", $"-c{IntakeScenario.Connections}", $"-d{seconds}s", "--timeout", "30s", "-s", script, url.ToString(), "--", $"{phase}-{Guid.NewGuid():N}" })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var text = await output;
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("JW-RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk gave no result (exit {process.ExitCode}): {text}{await errors}");
        var f = line.Split(' ');
        long Long(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
        double Double(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        var measured = Long(3) / 1e6;
        // wrk counts every response; a non-2xx one (f[2]) is an error, not an acknowledged event.
        var acknowledged = Long(1) - Long(2);
        return new IntakeScenario.Load(acknowledged, Long(2) + Long(6), acknowledged / measured, Double(4) / 1000, Double(5) / 1000, null, measured);
    }

    /// <summary>
    /// Each request: the bench's payload for the next number and an Idempotency-Key unique to this run (its first argument).
    /// The done hook prints one line: requests, non-2xx, duration µs, p50 µs, p99 µs, socket errors.
    /// </summary>
    private static string Script(string? key)
    {
        var payload = IntakeScenario.Payload(0);
        // The payload's two numbers become format slots: the profile (n % profiles + 1) and the order id (n).
        var template = payload.Replace("%", "%%", StringComparison.Ordinal)
            .Replace("\"p1@example.com\"", "\"p%d@example.com\"", StringComparison.Ordinal)
            .Replace("\"order-0\"", "\"order-%d\"", StringComparison.Ordinal);
        var sb = new StringBuilder();
        sb.Append("local run = \"run\"\n");
        sb.Append("function init(args) if args[1] then run = args[1] end end\n");
        sb.Append("local n = 0\n");
        sb.Append(CultureInfo.InvariantCulture, $"local template = [==[{template}]==]\n");
        sb.Append("function request()\n  n = n + 1\n");
        sb.Append(CultureInfo.InvariantCulture, $"  local body = string.format(template, n % {IntakeScenario.Profiles} + 1, n)\n");
        sb.Append("  local headers = { [\"Content-Type\"] = \"application/json\", [\"Idempotency-Key\"] = \"bench-\" .. run .. \"-\" .. n }\n");
        if (key is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  headers[\"X-Api-Key\"] = \"{key}\"\n");
        }
        sb.Append("  return wrk.format(\"POST\", nil, headers, body)\nend\n");
        sb.Append("""
            function done(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("JW-RESULT %d %d %d %d %d %d\n", summary.requests, e.status, summary.duration,
                latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout))
            end

            """);
        return sb.ToString();
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true });
        process?.StandardOutput.ReadToEnd();
        process?.WaitForExit();
    }
}
