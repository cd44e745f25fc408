using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace JourneyWorker.Testing;

/// <summary>
/// The built service as a child process: <c>dotnet JourneyWorker.dll</c> from the caller's own build output (a project
/// reference copies it there), in Production, on 127.0.0.1 and a free port, with its settings as environment variables
/// (<c>Key:Sub</c> becomes <c>Key__Sub</c>). Its console output is kept line by line (single-line log format unless the
/// settings name another). Stopped with SIGTERM or killed with SIGKILL on request, killed when disposed. Shared by the crash harness and the multi-process tests (linked into both).
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _standardOutput = new();

    private WorkerProcess(string name, int port, Process process)
    {
        Name = name;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        _process = process;
    }

    /// <summary>The service's entry assembly next to the running one.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "JourneyWorker.dll");

    public string Name { get; }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Every line the process wrote to stdout or stderr so far.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>Every line the process wrote to stdout so far (where the console logger writes).</summary>
    public IReadOnlyList<string> StandardOutput => [.. _standardOutput];

    /// <summary>Starts the service; <paramref name="settings"/> are configuration keys (':' or '__') and values.</summary>
    public static WorkerProcess Start(string name, string workingDirectory, IEnumerable<KeyValuePair<string, string>> settings)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", [Dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true";
        info.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        // Only a test about systemd hands one over (in the settings): an inherited one would send it our workers' news.
        info.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = info };
        var worker = new WorkerProcess(name, port, process);
        process.OutputDataReceived += (_, e) =>
        {
            worker.Keep(e.Data);
            if (e.Data is not null)
            {
                worker._standardOutput.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails with the process's last output when it exits or the time is up.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready:\n{Tail(40)}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds:F0} s:\n{Tail(40)}");
    }

    /// <summary>The last lines of output, for failure messages.</summary>
    public string Tail(int lines) => string.Join('\n', Output.TakeLast(lines));

    /// <summary>SIGTERM, as systemd and docker stop send it: the service stops gracefully.</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the process to exit on its own; its exit code, or a failure with its last output when the time is up.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not exit within {timeout.TotalSeconds:F0} s:\n{Tail(40)}");
        }
        return _process.ExitCode;
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>SIGKILL (the process and any children), then waits until it is gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
