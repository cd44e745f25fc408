namespace JourneyWorker.Bench;
public static class IntakeScenario { public static Task RunAsync(string folder, TimeSpan duration, Report report, CancellationToken ct) => Task.CompletedTask; }
public static class TimersScenario { public static Task RunAsync(string folder, long n, bool quick, Report report, CancellationToken ct) => Task.CompletedTask; }
public static class PreviewScenario { public static Task RunAsync(string folder, long[] sizes, Report report, CancellationToken ct) => Task.CompletedTask; }
