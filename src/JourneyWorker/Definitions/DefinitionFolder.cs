using System.Text.Json;
using FluentValidation;
using JourneyWorker.Audiences;
using JourneyWorker.Events;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Definitions;

/// <summary>One problem of a definitions folder, as a CI log line: file, node (or field), code, message.</summary>
public sealed record DefinitionProblem(string File, string? Node, string Code, string Message, bool IsWarning = false)
{
    public override string ToString() => $"{File}: {Node ?? "-"}: {(IsWarning ? "warning" : "error")} {Code}: {Message}";
}

/// <summary>A definition and the file it came from (relative to the folder, with '/' separators).</summary>
public sealed record DefinitionFile<T>(string File, T Definition);

/// <summary>
/// A definitions folder: <c>audiences/*.json</c>, <c>event-configs/*.json</c>, <c>journeys/*.json</c>, one definition a
/// file, referring to each other by name. Each file is read as the API reads the same body and checked by the API's
/// request validator; a name is its definition's identity, so a name used twice is a problem too.
/// </summary>
public sealed class DefinitionFolder
{
    public const string AudiencesFolder = "audiences";
    public const string EventConfigsFolder = "event-configs";
    public const string JourneysFolder = "journeys";
    public static readonly string[] Kinds = [AudiencesFolder, EventConfigsFolder, JourneysFolder];

    public required string Root { get; init; }
    public List<DefinitionFile<AudienceRequest>> Audiences { get; } = [];
    public List<DefinitionFile<EventConfigRequest>> EventConfigs { get; } = [];
    public List<DefinitionFile<JourneyDefinition>> Journeys { get; } = [];

    /// <summary>Problems of the files themselves: JSON that does not read, request validation, duplicate names.</summary>
    public List<DefinitionProblem> Problems { get; } = [];

    /// <summary>Files whose definition failed the request validator: kept for their names, not checked further.</summary>
    public HashSet<string> Refused { get; } = new(StringComparer.Ordinal);

    public bool HasErrors => Problems.Any(p => !p.IsWarning);

    public static async Task<DefinitionFolder> LoadAsync(string root, CancellationToken cancellationToken)
    {
        var folder = new DefinitionFolder { Root = Path.GetFullPath(root) };
        if (!Kinds.Any(kind => Directory.Exists(Path.Combine(folder.Root, kind))))
        {
            folder.Problems.Add(new(root, null, "folder.empty",
                $"No {string.Join("/, ", Kinds)}/ folder here: a definitions folder holds audiences/*.json, event-configs/*.json and journeys/*.json."));
            return folder;
        }
        await ReadAsync(folder, AudiencesFolder, folder.Audiences, new AudienceRequestValidator(), a => a.Name?.Trim(), cancellationToken);
        await ReadAsync(folder, EventConfigsFolder, folder.EventConfigs, new EventConfigRequestValidator(), c => c.Name, cancellationToken);
        await ReadAsync(folder, JourneysFolder, folder.Journeys, new JourneyDefinitionValidator(), j => j.Name, cancellationToken);
        return folder;
    }

    /// <summary>A journey file on its own (not inside a definitions folder): its references resolve against nothing.</summary>
    public static async Task<DefinitionFolder> LoadJourneyAsync(string file, CancellationToken cancellationToken)
    {
        var folder = new DefinitionFolder { Root = Path.GetDirectoryName(Path.GetFullPath(file))! };
        await ReadFileAsync(folder, file, file, folder.Journeys, new JourneyDefinitionValidator(), j => j.Name, cancellationToken);
        return folder;
    }

    public string PathOf(string file) => Path.Combine(Root, file.Replace('/', Path.DirectorySeparatorChar));

    private static async Task ReadAsync<T>(
        DefinitionFolder folder, string kind, List<DefinitionFile<T>> into, IValidator<T> validator, Func<T, string?> name, CancellationToken cancellationToken)
        where T : class
    {
        var directory = Path.Combine(folder.Root, kind);
        if (!Directory.Exists(directory))
        {
            return;
        }
        foreach (var path in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            await ReadFileAsync(folder, path, $"{kind}/{Path.GetFileName(path)}", into, validator, name, cancellationToken);
        }
    }

    private static async Task ReadFileAsync<T>(
        DefinitionFolder folder, string path, string file, List<DefinitionFile<T>> into, IValidator<T> validator, Func<T, string?> name, CancellationToken cancellationToken)
        where T : class
    {
        T? definition;
        try
        {
            await using var stream = File.OpenRead(path);
            definition = await JsonSerializer.DeserializeAsync<T>(stream, DefinitionJson.Read, cancellationToken);
        }
        catch (JsonException e)
        {
            // The reader's positions count from zero; editors count from one.
            var message = e.Message.Split(" Path: ", 2)[0];
            folder.Problems.Add(new(file, e.LineNumber is { } line ? $"line {line + 1}, column {e.BytePositionInLine + 1}" : null, "json.invalid", message));
            return;
        }
        if (definition is null)
        {
            folder.Problems.Add(new(file, null, "json.invalid", "The file holds null; it must hold one JSON object."));
            return;
        }

        var result = await validator.ValidateAsync(definition, cancellationToken);
        foreach (var failure in result.Errors)
        {
            folder.Problems.Add(new(file, JsonPath(failure.PropertyName), "request.invalid", failure.ErrorMessage));
        }
        if (!result.IsValid)
        {
            folder.Refused.Add(file);
        }
        if (name(definition) is { Length: > 0 } key && into.FirstOrDefault(d => name(d.Definition) == key) is { } first)
        {
            folder.Problems.Add(new(file, "name", "name.duplicate", $"'{key}' is also the name in {first.File}: a name identifies one definition."));
            return;
        }
        into.Add(new(file, definition));
    }

    /// <summary>"Nodes[0].Id" becomes "nodes[0].id", as the API names the field.</summary>
    private static string JsonPath(string propertyName) =>
        string.Join('.', propertyName.Split('.').Select(part => part.Length == 0 ? part : char.ToLowerInvariant(part[0]) + part[1..]));
}
