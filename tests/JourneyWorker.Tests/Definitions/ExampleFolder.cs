using JourneyWorker.Definitions;

namespace JourneyWorker.Tests.Definitions;

/// <summary>A copy of the committed definitions folder examples/multi-channel in a temporary folder, and the commands run on it.</summary>
public sealed class ExampleFolder : IDisposable
{
    public const string AudienceName = "Atlanta, San Francisco or Seattle, born after 1980";
    public const string JourneyFile = "journeys/multi-channel.json";

    private ExampleFolder(string path) => Path = path;

    public string Path { get; }

    public static ExampleFolder Copy()
    {
        var folder = new ExampleFolder(Directory.CreateTempSubdirectory("journeyworker-definitions-").FullName);
        foreach (var kind in DefinitionFolder.Kinds)
        {
            Directory.CreateDirectory(System.IO.Path.Combine(folder.Path, kind));
            foreach (var file in Directory.EnumerateFiles(System.IO.Path.Combine(Committed, kind)))
            {
                System.IO.File.Copy(file, System.IO.Path.Combine(folder.Path, kind, System.IO.Path.GetFileName(file)));
            }
        }
        return folder;
    }

    public static ExampleFolder Empty() => new(Directory.CreateTempSubdirectory("journeyworker-definitions-").FullName);

    /// <summary>examples/multi-channel in the repository, found above the test output folder.</summary>
    public static string Committed { get; } = FindCommitted();

    public string File(string relative) => System.IO.Path.Combine(Path, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    public string Read(string relative) => System.IO.File.ReadAllText(File(relative));

    public void Write(string relative, string text)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(File(relative))!);
        System.IO.File.WriteAllText(File(relative), text);
    }

    public void Edit(string relative, string from, string to)
    {
        var text = Read(relative);
        Assert.Contains(from, text, StringComparison.Ordinal);
        Write(relative, text.Replace(from, to, StringComparison.Ordinal));
    }

    public static async Task<(int ExitCode, string Output)> ApplyAsync(HttpClient client, params string[] args)
    {
        using var output = new StringWriter();
        var exit = await ApplyCommand.RunAsync(["apply", .. args], output, client, TestContext.Current.CancellationToken);
        return (exit, output.ToString());
    }

    public static async Task<(int ExitCode, string Output)> ExportAsync(HttpClient client, string directory)
    {
        using var output = new StringWriter();
        var exit = await ExportCommand.RunAsync(["export", directory], output, client, TestContext.Current.CancellationToken);
        return (exit, output.ToString());
    }

    public static async Task<(int ExitCode, string Output)> ValidateAsync(params string[] args)
    {
        using var output = new StringWriter();
        var exit = await ValidateCommand.RunAsync(["validate", .. args], output, TestContext.Current.CancellationToken);
        return (exit, output.ToString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindCommitted()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "examples", "multi-channel");
            if (Directory.Exists(System.IO.Path.Combine(candidate, "journeys")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("examples/multi-channel not found above the test output folder.");
    }
}
