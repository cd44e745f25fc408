using System.Diagnostics;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// A real, small file system (tmpfs) that a test can fill to the last byte and free again: what a disk filling up under
/// the database does, without touching the machine's disks. Mounting needs root (CI and the dev container run the tests
/// as root); where it is not allowed the test is skipped, saying why, never faked.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, "filler");

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB on a new temporary folder, or skips the test.</summary>
    public static SmallDisk Mount(int megabytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("A small file system is mounted with tmpfs, which needs Linux.");
        }
        var path = Directory.CreateTempSubdirectory("journeyworker-small-disk-").FullName;
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Assert.Skip($"Mounting a tmpfs is not permitted here (mount exited {code}: {output.Trim()}); the disk-full test needs root or CAP_SYS_ADMIN.");
        }
        return new SmallDisk(path);
    }

    /// <summary>Writes a file until the file system has no byte left.</summary>
    public void Fill()
    {
        var chunk = new byte[64 * 1024];
        using var file = new FileStream(Filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            while (true)
            {
                file.Write(chunk);
            }
        }
        catch (IOException)
        {
            // ENOSPC. What a 64 KiB write could not take is topped up a page at a time, down to the last free page.
        }
        try
        {
            var page = new byte[4096];
            while (true)
            {
                file.Write(page);
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Deletes the filler: the space is back.</summary>
    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var (code, output) = Run("umount", "--lazy", Path);
        if (code == 0)
        {
            Directory.Delete(Path, recursive: true);
        }
        else
        {
            TestContext.Current.SendDiagnosticMessage($"umount {Path} failed ({code}): {output}");
        }
    }

    private static (int Code, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
