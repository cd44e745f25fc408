using System.ComponentModel.DataAnnotations;

namespace JourneyWorker.Runtime;

public sealed class RuntimeOptions
{
    public const string Section = "Runtime";

    /// <summary>Run the background poller and Read Audience schedules (off only for tests that drive the engine by hand).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often due work is looked for: the floor of timer lateness. An idle look is one indexed query.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>How long a claim protects an instance; a crashed worker's claims are taken over after it.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Messages in flight at once within a batch; sends wait on the network, so more than the core count
    /// (and than the SMTP pool) pays. A batch checkpoints and sends in rounds of four times this, and a
    /// crash repeats at most two rounds of sends (same Message-IDs).
    /// </summary>
    [Range(1, 256)]
    public int Parallelism { get; set; } = 16;

    /// <summary>Profiles inserted per transaction by Read Audience.</summary>
    [Range(1, 100_000)]
    public int AudienceChunkSize { get; set; } = 2_000;

    /// <summary>
    /// Chunks of one Read Audience in flight at once on PostgreSQL, each on its own connection over its own range of
    /// profile ids (the server evaluates the rule and inserts: one chunk at a time keeps one of its cores busy). SQLite
    /// has one writer and reads one chunk at a time whatever this says.
    /// </summary>
    [Range(1, 16)]
    public int AudienceReadConnections { get; set; } = 2;

    /// <summary>Names this process in claims; unique per start so that a restarted worker never mistakes old leases for its own.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
}
