using System.Text;
using JourneyWorker.Audiences;

namespace JourneyWorker.Definitions;

/// <summary>
/// `JourneyWorker export --server URL DIR`: writes what the server holds as a definitions folder, ids replaced by names,
/// in the one format apply compares by, so that applying the folder again changes nothing. Exit code 0 when written,
/// 1 when the server's definitions cannot be told apart by name, 2 on usage.
/// </summary>
public static class ExportCommand
{
    public const string Name = "export";

    private const string Usage = """
        usage: JourneyWorker export --server URL DIR

        Writes the audiences, event configurations and journeys of the JourneyWorker at URL into DIR as
        audiences/*.json, event-configs/*.json and journeys/*.json, one definition a file, referring to each other
        by name. A journey is written as its draft if it has one, else as its newest version. A definition already
        in DIR keeps its file; a file is only rewritten when its content changes; files of definitions the server
        does not hold are left as they are. `JourneyWorker apply DIR --server URL` right after changes nothing.

        The admin API key is read from the environment variable JOURNEYWORKER_ADMIN_KEY.
        """;

    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == Name;

    /// <summary>Runs the command; <paramref name="client"/>, when given, is used instead of one made from --server and the environment.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, HttpClient? client = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        var rest = args.Skip(1).ToList();
        if (CommandArguments.WantsHelp(rest))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        var server = CommandArguments.TakeOption(rest, "--server");
        if (rest.Count != 1 || rest[0].StartsWith("--", StringComparison.Ordinal))
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }
        using var owned = client is null ? await CommandArguments.ClientAsync(Name, server, output) : null;
        var http = client ?? owned;
        if (http is null)
        {
            return 2;
        }

        DefinitionsApi.ServerState state;
        try
        {
            state = await new DefinitionsApi(http).ReadAsync(cancellationToken);
        }
        catch (DefinitionsApiException e)
        {
            await output.WriteLineAsync($"{Name}: {e.Message}");
            return 1;
        }
        var duplicates = state.Audiences.GroupBy(a => a.Name).Where(g => g.Count() > 1).Select(g => (ApplyPlan.AudienceKind, g.Key, g.Select(a => a.Id)))
            .Concat(state.Journeys.GroupBy(j => j.Name).Where(g => g.Count() > 1).Select(g => (ApplyPlan.JourneyKind, g.Key, g.Select(j => j.Id)))).ToList();
        foreach (var (kind, name, ids) in duplicates)
        {
            await output.WriteLineAsync($"{Name}: {ids.Count()} {kind}s are named '{name}' ({string.Join(", ", ids)}): in a folder a name identifies one definition; rename all but one.");
        }
        if (duplicates.Count > 0)
        {
            await output.WriteLineAsync($"{Name}: nothing was written.");
            return 1;
        }

        var directory = rest[0];
        var files = await ExportFiles.OpenAsync(directory, cancellationToken);
        var names = ApplyPlan.ForServer(state);
        foreach (var audience in state.Audiences)
        {
            await files.WriteAsync(DefinitionFolder.AudiencesFolder, audience.Name, DefinitionJson.Text(new AudienceRequest(audience.Name, audience.Rule)), output, cancellationToken);
        }
        foreach (var config in state.EventConfigs)
        {
            await files.WriteAsync(DefinitionFolder.EventConfigsFolder, config.Name, DefinitionJson.Text(DefinitionJson.ToRequest(config)), output, cancellationToken);
        }
        foreach (var journey in state.Journeys)
        {
            await files.WriteAsync(DefinitionFolder.JourneysFolder, journey.Name, DefinitionJson.Text(names.InNames(journey.Definition)), output, cancellationToken);
        }
        foreach (var (file, name) in files.NotOnServer())
        {
            await output.WriteLineAsync($"  kept       {file}: '{name}' is not on the server");
        }
        await output.WriteLineAsync($"{Name}: {files.Written} written, {files.Unchanged} unchanged in {directory}");
        return 0;
    }

    /// <summary>Where each definition goes: the file that already holds its name, else a new file named after it.</summary>
    private sealed class ExportFiles
    {
        private readonly DefinitionFolder _existing;
        private readonly HashSet<string> _used = new(StringComparer.OrdinalIgnoreCase);
        private readonly HashSet<string> _exported = new(StringComparer.Ordinal);

        private ExportFiles(DefinitionFolder existing) => _existing = existing;

        public int Written { get; private set; }
        public int Unchanged { get; private set; }

        public static async Task<ExportFiles> OpenAsync(string directory, CancellationToken cancellationToken)
        {
            Directory.CreateDirectory(directory);
            var existing = await DefinitionFolder.LoadAsync(directory, cancellationToken);
            var files = new ExportFiles(existing);
            foreach (var kind in DefinitionFolder.Kinds.Where(k => Directory.Exists(Path.Combine(existing.Root, k))))
            {
                // A file that does not read (and so has no known name) is never overwritten by another definition.
                files._used.UnionWith(Directory.EnumerateFiles(Path.Combine(existing.Root, kind), "*.json").Select(f => $"{kind}/{Path.GetFileName(f)}"));
            }
            return files;
        }

        public async Task WriteAsync(string kind, string name, string text, TextWriter output, CancellationToken cancellationToken)
        {
            var file = Existing(kind, name) ?? NewFile(kind, name);
            _exported.Add(file);
            var path = _existing.PathOf(file);
            if (File.Exists(path) && await File.ReadAllTextAsync(path, cancellationToken) == text)
            {
                Unchanged++;
                return;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken);
            Written++;
            await output.WriteLineAsync($"  wrote      {file}");
        }

        public IEnumerable<(string File, string? Name)> NotOnServer() =>
            _existing.Audiences.Select(a => (a.File, a.Definition.Name))
                .Concat(_existing.EventConfigs.Select(c => (c.File, c.Definition.Name)))
                .Concat(_existing.Journeys.Select(j => (j.File, j.Definition.Name)))
                .Where(d => !_exported.Contains(d.File));

        private string? Existing(string kind, string name) => kind switch
        {
            DefinitionFolder.AudiencesFolder => _existing.Audiences.FirstOrDefault(a => a.Definition.Name?.Trim() == name)?.File,
            DefinitionFolder.EventConfigsFolder => _existing.EventConfigs.FirstOrDefault(c => c.Definition.Name == name)?.File,
            _ => _existing.Journeys.FirstOrDefault(j => j.Definition.Name == name)?.File,
        };

        private string NewFile(string kind, string name)
        {
            var slug = Slug(name);
            var file = $"{kind}/{slug}.json";
            for (var n = 2; !_used.Add(file); n++)
            {
                file = $"{kind}/{slug}-{n}.json";
            }
            return file;
        }

        /// <summary>The name in lower-case letters and digits joined by '-': a file name that is the same on every system.</summary>
        private static string Slug(string name)
        {
            var slug = new StringBuilder();
            foreach (var c in name.ToLowerInvariant())
            {
                if (char.IsAsciiLetterOrDigit(c))
                {
                    slug.Append(c);
                }
                else if (slug.Length > 0 && slug[^1] != '-')
                {
                    slug.Append('-');
                }
            }
            var text = slug.ToString().TrimEnd('-');
            text = text.Length > 80 ? text[..80].TrimEnd('-') : text;
            return text.Length == 0 ? "definition" : text;
        }
    }
}
