using System.ComponentModel.DataAnnotations;

namespace JourneyWorker.Infrastructure;

public sealed class SecurityOptions
{
    public const string Section = "Security";
    public string? AdminApiKey { get; set; }
    public string? IngestApiKey { get; set; }
}

/// <summary>Where the journeys live: one SQLite file (the default), or PostgreSQL shared by any number of workers.</summary>
public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}

public sealed class StorageOptions
{
    public const string Section = "Storage";
    /// <summary>Sqlite (ConnectionStrings:Journeys is a SQLite connection string) or PostgreSql (an Npgsql one).</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;
    /// <summary>SQLite PRAGMA synchronous: Normal survives a process crash, Full also a power cut.</summary>
    [AllowedValues("Off", "Normal", "Full", "Extra")]
    public string Synchronous { get; set; } = "Normal";
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class ImportOptions
{
    public const string Section = "Import";
    [Range(1L, long.MaxValue)]
    public long MaxBytes { get; set; } = 1L << 30;
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Lines written per transaction at most: one commit, one identity lookup and one statement per table (PostgreSQL)
    /// for all of them. A batch also ends at <see cref="BatchBytes"/>, so that long lines keep memory bounded.
    /// </summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;

    /// <summary>Bytes of lines held for one batch at most (memory stays flat whatever the body's size).</summary>
    [Range(64 * 1024, 1024 * 1024 * 1024)]
    public int BatchBytes { get; set; } = 8 * 1024 * 1024;
}
