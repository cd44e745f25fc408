using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using JourneyWorker.Data;

namespace JourneyWorker.Profiles;

/// <summary>The states of a long import (<c>GET /api/imports/{id}</c>).</summary>
public static class ImportStatuses
{
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";

    /// <summary>It stopped before the end of its body: the client went away, or the service stopped or crashed.</summary>
    public const string Interrupted = "interrupted";
}

/// <summary>The progress of one import as its batches commit: the counts, the first errors, and what was read of the body.</summary>
public sealed class ImportRun(Guid id, DateTime startedAt, long? totalBytes)
{
    private readonly Lock _lock = new();
    private readonly List<ImportError> _errors = [];
    private long _imported;
    private long _failed;
    private long _bytesRead;

    public Guid Id { get; } = id;
    public DateTime StartedAt { get; } = startedAt;
    public long? TotalBytes { get; } = totalBytes;
    public long Imported => Interlocked.Read(ref _imported);
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Bytes of the body taken into batches so far (lines and their ends).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public void Read(long bytes) => Interlocked.Add(ref _bytesRead, bytes);

    /// <summary>Counts a committed batch: its imported lines and its errors (the first <paramref name="max"/> of the import are kept).</summary>
    public void Add(int imported, IEnumerable<ImportError> errors, int max)
    {
        var failed = 0;
        lock (_lock)
        {
            foreach (var error in errors)
            {
                failed++;
                if (_errors.Count < max)
                {
                    _errors.Add(error);
                }
            }
        }
        Interlocked.Add(ref _imported, imported);
        Interlocked.Add(ref _failed, failed);
    }

    /// <summary>The errors so far with <paramref name="more"/> after them, as stored: the first <paramref name="max"/>.</summary>
    public string ErrorsJson(IEnumerable<ImportError> more, int max, JsonSerializerOptions json)
    {
        lock (_lock)
        {
            return JsonSerializer.Serialize(_errors.Concat(more).Take(max), json);
        }
    }

    public IReadOnlyList<ImportError> Errors()
    {
        lock (_lock)
        {
            return [.. _errors];
        }
    }

    public ImportResponse Response() => new((int)Imported, (int)Failed, Errors());
}

/// <summary>
/// The imports this host is running, for their live progress, and who this host is: an import stored as running by a
/// host that no longer runs (the process is gone, or it is an earlier host of this process) is reported interrupted.
/// </summary>
public sealed class ImportRuns
{
    private readonly ConcurrentDictionary<Guid, ImportRun> _running = new();
    private readonly string _host = Guid.NewGuid().ToString("N");

    /// <summary>Machine, process (id and start time) and host: enough for another host on this machine to tell whether it still runs.</summary>
    public string Owner { get; }

    public ImportRuns() => Owner = OwnerOf(_host);

    public void Started(ImportRun run) => _running[run.Id] = run;

    public void Ended(Guid id) => _running.TryRemove(id, out _);

    public ImportRun? Running(Guid id) => _running.GetValueOrDefault(id);

    /// <summary>
    /// Whether the owner of a stored running import is gone: this host would have it in <see cref="Running"/>; another
    /// host of this process, or a process of this machine that no longer exists (or is another one by now), cannot run
    /// it any more. An owner on another machine is taken at its word.
    /// </summary>
    public bool IsGone(string owner)
    {
        var parts = owner.Split('/');
        if (parts.Length != 4 || parts[0] != Environment.MachineName || !int.TryParse(parts[1], out var pid))
        {
            return false;
        }
        if (pid == Environment.ProcessId)
        {
            return parts[3] != _host;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.StartTime.ToUniversalTime().Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) != parts[2];
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return true;
        }
    }

    private static string OwnerOf(string host)
    {
        using var self = Process.GetCurrentProcess();
        var started = self.StartTime.ToUniversalTime().Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{Environment.MachineName}/{Environment.ProcessId}/{started}/{host}";
    }

    /// <summary>The answer of <c>GET /api/imports/{id}</c> for a stored import, with the live counts when this host runs it.</summary>
    public ImportStatusResponse Describe(ProfileImport stored, DateTime now)
    {
        var run = Running(stored.Id);
        var (imported, failed) = run is null ? (stored.Imported, stored.Failed) : (run.Imported, run.Failed);
        var errors = run?.Errors() ?? JsonSerializer.Deserialize<List<ImportError>>(stored.Errors, ImportJson.Options) ?? [];
        var end = stored.FinishedAt ?? (stored.Status == ImportStatuses.Running ? now : stored.UpdatedAt);
        var seconds = (end - stored.StartedAt).TotalSeconds;
        var rate = seconds > 0 ? Math.Round((imported + failed) / seconds, 1) : 0;
        double? eta = null;
        if (run is { TotalBytes: > 0 and var total } && run.BytesRead > 0 && seconds > 0)
        {
            var bytesPerSecond = run.BytesRead / seconds;
            eta = Math.Round(Math.Max(0, total - run.BytesRead) / bytesPerSecond, 1);
        }
        return new ImportStatusResponse(stored.Id, stored.Status, imported + failed, imported, failed, rate, eta, errors,
            stored.StartedAt, stored.FinishedAt, stored.Reason);
    }
}

/// <summary>How the stored errors are written and read (the API's camelCase).</summary>
public static class ImportJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
