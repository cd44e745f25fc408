using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace JourneyWorker.Bench;

/// <summary>What the scenarios run against: SQLite in the temp folder (default), or PostgreSQL with one or two worker processes.</summary>
/// <param name="Caps">Whether a frequency rule is in force for the e-mails (one that caps nobody, so that the figure is the cost of the check).</param>
/// <param name="Emails">How many of audience-entry's e-mails are timed (a multiple of the 500-instance claim on SQLite); null: quick 2,000, full all.</param>
public sealed record BenchTarget(string Provider, string? PostgresServer, int Workers, bool Caps = false, long? Emails = null, TimersSize? Timers = null)
{
    public const string Sqlite = "sqlite";
    public const string PostgreSql = "postgresql";
    public const string ServerVariable = "JOURNEYWORKER_BENCH_POSTGRES";

    public bool IsPostgres => Provider == PostgreSql;

    /// <summary>"(2 workers)" after a size, when a second worker runs.</summary>
    public string WorkersNote => Workers > 1 ? $", {Workers} workers" : "";
}

/// <summary>
/// A database of its own for one scenario on the given PostgreSQL server: created empty (the host's migrations build
/// the schema), dropped at the end whatever happened. Also tells how much CPU the server has used.
/// </summary>
public sealed class BenchDatabase : IAsyncDisposable
{
    private readonly string _server;
    private readonly string _name;

    private BenchDatabase(string server, string name, string connectionString)
    {
        _server = server;
        _name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The scenario's database, pooled (the bench's own reads and writes; the app has its own pool).</summary>
    public string ConnectionString { get; }

    public static async Task<BenchDatabase> CreateAsync(string server, string scenario, CancellationToken ct)
    {
        var name = $"journeyworker_bench_{scenario.Replace('-', '_')}_{Guid.NewGuid():N}"[..50];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync(ct);
        }
        var builder = new NpgsqlConnectionStringBuilder(server) { Database = name, MaxPoolSize = 200 };
        Console.WriteLine($"  PostgreSQL database {name}");
        return new BenchDatabase(server, name, builder.ConnectionString);
    }

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(_server);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException e)
        {
            Console.Error.WriteLine($"Could not drop the bench database {_name}: {e.Message}");
        }
    }
}

/// <summary>
/// CPU time of the PostgreSQL server (the postmaster, every live backend and auxiliary process, and what exited
/// children left in the postmaster's cutime/cstime), from /proc: the server must run on this machine.
/// </summary>
public sealed class PostgresCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux
    private readonly int _postmaster;

    private PostgresCpu(int postmaster) => _postmaster = postmaster;

    public static async Task<PostgresCpu?> FindAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        var backend = (int)(await command.ExecuteScalarAsync(ct))!;
        return Stat(backend) is { } stat ? new PostgresCpu(stat.Ppid) : null;
    }

    /// <summary>Seconds of CPU the server has used so far.</summary>
    public double Seconds()
    {
        double ticks = 0;
        if (Stat(_postmaster) is { } postmaster)
        {
            ticks += postmaster.Own + postmaster.Children;
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && pid != _postmaster && Stat(pid) is { } stat && stat.Ppid == _postmaster)
            {
                ticks += stat.Own;
            }
        }
        return ticks / TicksPerSecond;
    }

    private sealed record ProcStat(int Ppid, long Own, long Children);

    private static ProcStat? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17.
            long F(int field) => long.Parse(fields[field - 3], CultureInfo.InvariantCulture);
            return new ProcStat((int)F(4), F(14) + F(15), F(16) + F(17));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>
/// A second worker: the built JourneyWorker.dll in a child process with the host's configuration (same database, same
/// SMTP sink, same keys), on 127.0.0.1 and a port of its own, killed at the end.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int Pid => _process.Id;

    public static async Task<WorkerProcess> StartAsync(string folder, IReadOnlyDictionary<string, string?> settings, CancellationToken ct)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "JourneyWorker.dll");
        var workDir = Directory.CreateDirectory(Path.Combine(folder, "worker-2")).FullName;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add("http://127.0.0.1:0");
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Runtime__Enabled"] = "true";
        info.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the second worker.");
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var echo = false;
        process.OutputDataReceived += (_, e) =>
        {
            const string Marker = "Now listening on: ";
            if (e.Data is not { } line)
            {
                return;
            }
            if (line.IndexOf(Marker, StringComparison.Ordinal) is var at and >= 0)
            {
                listening.TrySetResult(new Uri(line[(at + Marker.Length)..].Trim()));
            }
            // Warnings and errors (a level line, then its indented message) are shown; the start-up lines are not.
            echo = line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal)
                || line.StartsWith("crit:", StringComparison.Ordinal) || (echo && line.StartsWith(' '));
            if (echo)
            {
                Console.WriteLine($"    [worker 2] {line}");
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data))
            {
                Console.Error.WriteLine($"    [worker 2] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            Console.WriteLine($"  second worker: pid {process.Id} on {address}");
            return new WorkerProcess(process, address);
        }
        catch
        {
            await new WorkerProcess(process, new Uri("http://127.0.0.1/")).DisposeAsync();
            throw;
        }
    }

    /// <summary>CPU seconds the worker has used so far.</summary>
    public double CpuSeconds()
    {
        _process.Refresh();
        return _process.TotalProcessorTime.TotalSeconds;
    }

    public double PeakRssMiB()
    {
        _process.Refresh();
        return _process.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        _process.Dispose();
    }
}
