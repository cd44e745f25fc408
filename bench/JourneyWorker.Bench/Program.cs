using System.Diagnostics;
using JourneyWorker.Bench;

/// <summary>JourneyWorker benchmarks: one command per scenario, each against the machine's raw baseline
/// measured in the same run. See docs/benchmarks.md.</summary>
public static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        const string Usage = """
            usage: dotnet run -c Release --project bench/JourneyWorker.Bench -- <scenario>... [--quick] [--json FILE] [--load wrk|client]
                   [--provider sqlite|postgresql] [--postgres "CONNECTION STRING"] [--workers 1|2]

            scenarios (several may be given; "all" runs every one):
              audience-entry  Read Audience of N profiles into a live journey (1,000,000; quick 50,000) vs a raw
                              batched INSERT; then its e-mails (quick: the first 2,000) to a loopback SMTP sink
                              vs a bare MailKit loop
              intake          POST /api/events under 50 concurrent connections on Kestrel vs a bare durable route
              timers          N waiting timers (1,000,000, 200,000 due over 60 s; quick 50,000, 5,000 due over 10 s):
                              lateness p50/p99, idle CPU with the poller running, peak RSS, size per waiting instance
              preview         audience count + 20-profile sample on 100,000 and 1,000,000 profiles (quick: 100,000)
              simulate        POST /api/journeys/{id}/simulate of the seed journey for 10,000 audience members over 91 days
                              (quick 2,000): the whole request, against the goal of 10 s
              import          POST /api/profiles/import of 1,000,000 new profiles (quick 10,000), then the first 50,000
                              (quick 1,000) again unchanged: with one live audienceQualification journey vs without,
                              and without it vs a raw insert of the same rows (prepared INSERT; PostgreSQL: binary COPY)
              report          GET /api/journeys/{id}/report on a journey of 1,000,000 instances (quick 50,000), served from
                              the counters, vs the same report computed from the step history

            --quick      small sizes, about a minute for all scenarios
            --load       wrk (default: in its own process, installed from Debian's packages when missing) or client
                         (an HttpClient in the bench process): what makes the intake's HTTP load
            --json FILE  also write the figures as JSON
            --provider   sqlite (default: a file in a temp folder) or postgresql: each scenario creates and drops a
                         database of its own on the server of --postgres (or $JOURNEYWORKER_BENCH_POSTGRES), and
                         each baseline is PostgreSQL's (binary COPY, a bare Npgsql group-commit route)
            --workers 2  PostgreSQL only: a second worker process (the built JourneyWorker.dll, same configuration)
                         runs next to the in-process host: e-mail and timers share the work, intake splits the load
            --caps       audience-entry: a frequency rule is in force for the e-mails (email 3 per P7D: it caps
                         nobody, each profile gets one e-mail; every checkpoint counts against it)
            --emails N   audience-entry: time the first N e-mails (a multiple of 500; quick default 2,000, full: all)
            --profiles N import: N new profiles (a multiple of 10) and the first N/20 again, instead of the full or quick size;
                         audience-entry: N profiles (a multiple of 4,000, a quarter enter) instead of 1,000,000 (quick 50,000)
            --waiting N  timers: N instances wait (default 1,000,000; quick 50,000)
            --due-per-second R
                         timers: R a second come due over the window (60 s; quick 10 s); the issue's size is
                         --waiting 10000000 --due-per-second 10000
            """;

        var scenarios = new List<string>();
        var quick = false;
        string? json = null;
        var provider = BenchTarget.Sqlite;
        var server = Environment.GetEnvironmentVariable(BenchTarget.ServerVariable);
        var workers = 1;
        var caps = false;
        long? emails = null;
        long? profiles = null;
        long? waiting = null;
        long? duePerSecond = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--load" when i + 1 < args.Length && args[i + 1] is "wrk" or "client": WrkLoad.Enabled = args[++i] == "wrk"; break;
                case "--caps": caps = true; break;
                case "--emails" when i + 1 < args.Length && long.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 && n % 500 == 0:
                    emails = n;
                    i++;
                    break;
                case "--profiles" when i + 1 < args.Length && long.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var p) && p > 0 && p % 10 == 0:
                    profiles = p;
                    i++;
                    break;
                case "--waiting" when i + 1 < args.Length && long.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var w) && w > 0:
                    waiting = w;
                    i++;
                    break;
                case "--due-per-second" when i + 1 < args.Length && long.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var r) && r > 0:
                    duePerSecond = r;
                    i++;
                    break;
                case "--json" when i + 1 < args.Length: json = args[++i]; break;
                case "--provider" when i + 1 < args.Length && args[i + 1] is BenchTarget.Sqlite or BenchTarget.PostgreSql: provider = args[++i]; break;
                case "--postgres" when i + 1 < args.Length: server = args[++i]; break;
                case "--workers" when i + 1 < args.Length && args[i + 1] is "1" or "2": workers = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "all": scenarios.AddRange(["audience-entry", "intake", "timers", "preview", "import", "report", "simulate"]); break;
                case "audience-entry" or "intake" or "timers" or "preview" or "import" or "report" or "simulate": scenarios.Add(args[i]); break;
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
        if (profiles is { } size && size % 4_000 != 0 && scenarios.Contains("audience-entry"))
        {
            Console.Error.WriteLine("audience-entry needs --profiles to be a multiple of 4,000 (a quarter of them enter).");
            return 2;
        }
        if (provider == BenchTarget.PostgreSql && string.IsNullOrWhiteSpace(server))
        {
            Console.Error.WriteLine($"--provider postgresql needs --postgres \"<connection string>\" or ${BenchTarget.ServerVariable}.");
            return 2;
        }
        if (workers > 1 && provider != BenchTarget.PostgreSql)
        {
            Console.Error.WriteLine("--workers 2 needs --provider postgresql: workers share a database only there.");
            return 2;
        }
        var target = new BenchTarget(provider, provider == BenchTarget.PostgreSql ? server : null, workers, caps, emails, TimersSize.For(quick, waiting, duePerSecond));

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

        var shown = args.Select((a, i) => i > 0 && args[i - 1] == "--postgres" ? "<server>" : a);
        var report = new Report(Machine.Current("bench " + string.Join(' ', shown)));
        var root = Directory.CreateTempSubdirectory("journeyworker-bench-").FullName;
        var exit = 0;
        try
        {
            foreach (var scenario in scenarios.Distinct())
            {
                var folder = Directory.CreateDirectory(Path.Combine(root, scenario)).FullName;
                Console.WriteLine($"== {scenario}{(quick ? " (quick)" : "")}{(target.IsPostgres ? $" on PostgreSQL{target.WorkersNote}" : "")} (load average {Machine.LoadAverage()})");
                var clock = Stopwatch.StartNew();
                BenchDatabase? database = null;
                try
                {
                    if (target.IsPostgres)
                    {
                        database = await BenchDatabase.CreateAsync(target.PostgresServer!, scenario, cancel.Token);
                    }
                    await (scenario switch
                    {
                        "audience-entry" => AudienceEntryScenario.RunAsync(folder, profiles ?? (quick ? 50_000 : 1_000_000), quick, target, database, report, cancel.Token),
                        "intake" => IntakeScenario.RunAsync(folder, quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(20), target, database, report, cancel.Token),
                        "timers" => TimersScenario.RunAsync(folder, target.Timers!, target, database, report, cancel.Token),
                        "simulate" => SimulateScenario.RunAsync(folder, quick ? 2_000 : 10_000, database, report, cancel.Token),
                        "import" => ImportScenario.RunAsync(folder, profiles ?? (quick ? 10_000 : 1_000_000), profiles / 20 ?? (quick ? 1_000 : 50_000), target, database, report, cancel.Token),
                        "report" => ReportScenario.RunAsync(folder, quick ? 50_000 : 1_000_000, database, report, cancel.Token),
                        _ => PreviewScenario.RunAsync(folder, quick ? [100_000] : [100_000, 1_000_000], database, report, cancel.Token),
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
                    if (database is not null)
                    {
                        await database.DisposeAsync();
                    }
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

    private static void TryDelete(string folder)
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
