using System.Diagnostics;
using JourneyWorker.Bench;

/// <summary>JourneyWorker benchmarks: one command per scenario, each against the machine's raw baseline
/// measured in the same run. See docs/benchmarks.md.</summary>
public static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        const string Usage = """
            usage: dotnet run -c Release --project bench/JourneyWorker.Bench -- <scenario>... [--quick] [--json FILE]

            scenarios (several may be given; "all" runs every one):
              audience-entry  Read Audience of N profiles into a live journey (1,000,000; quick 50,000) vs a raw
                              batched INSERT; then its e-mails (quick: the first 2,000) to a loopback SMTP sink
                              vs a bare MailKit loop
              intake          POST /api/events under 50 concurrent connections on Kestrel vs a bare durable route
              timers          N waiting timers (1,000,000, all due over 60 s; quick 50,000, 5,000 due over 10 s):
                              lateness p50/p99, idle CPU with the poller running, peak RSS
              preview         audience count + 20-profile sample on 100,000 and 1,000,000 profiles (quick: 100,000)

            --quick      small sizes, about a minute for all scenarios
            --json FILE  also write the figures as JSON
            """;

        var scenarios = new List<string>();
        var quick = false;
        string? json = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--json" when i + 1 < args.Length: json = args[++i]; break;
                case "all": scenarios.AddRange(["audience-entry", "intake", "timers", "preview"]); break;
                case "audience-entry" or "intake" or "timers" or "preview": scenarios.Add(args[i]); break;
                default:
                    Console.Error.WriteLine(Usage);
                    return args[i] is "-h" or "--help" ? 0 : 2;
            }
        }
        if (scenarios.Count == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true; // finish through the finally blocks, which remove the temp folder
            cancel.Cancel();
        };
        // `timeout` and CI send SIGTERM: finish the same way.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        });

        var report = new Report(Machine.Current("bench " + string.Join(' ', args)));
        var root = Directory.CreateTempSubdirectory("journeyworker-bench-").FullName;
        var exit = 0;
        try
        {
            foreach (var scenario in scenarios.Distinct())
            {
                var folder = Directory.CreateDirectory(Path.Combine(root, scenario)).FullName;
                Console.WriteLine($"== {scenario}{(quick ? " (quick)" : "")}");
                var clock = Stopwatch.StartNew();
                try
                {
                    await (scenario switch
                    {
                        "audience-entry" => AudienceEntryScenario.RunAsync(folder, quick ? 50_000 : 1_000_000, quick, report, cancel.Token),
                        "intake" => IntakeScenario.RunAsync(folder, quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(20), report, cancel.Token),
                        "timers" => TimersScenario.RunAsync(folder, quick ? 50_000 : 1_000_000, quick, report, cancel.Token),
                        _ => PreviewScenario.RunAsync(folder, quick ? [100_000] : [100_000, 1_000_000], report, cancel.Token),
                    });
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Console.Error.WriteLine($"  {scenario} failed: {e}");
                    exit = 1;
                }
                finally
                {
                    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                    TryDelete(folder);
                }
                Console.WriteLine($"  ({scenario} took {clock.Elapsed.TotalSeconds:N0} s)");
            }

            report.PrintTable(Console.Out);
            if (json is not null)
            {
                await report.WriteJsonAsync(json);
                Console.WriteLine($"Figures written to {json}");
            }
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Cancelled.");
            exit = 130;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            TryDelete(root);
        }
        return exit;
    }

    private static void TryDelete    (string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"Could not remove {folder}: {e.Message}");
        }
    }
}
