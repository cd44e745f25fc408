using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using JourneyWorker.Audiences;
using JourneyWorker.Events;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Definitions;

/// <summary>
/// The one way a definition is written: to a file on export, and as the text two definitions are compared by.
/// Both sides of a comparison go through the typed model and back, so formatting, member order, omitted nulls
/// and the order of map entries never show up as a change; only what the server would store differently does.
/// </summary>
public static class DefinitionJson
{
    /// <summary>Reading: what the API reads (web defaults), so a file means what the same body posted would.</summary>
    public static JsonSerializerOptions Read => JsonSerializerOptions.Web;

    /// <summary>
    /// Files and request bodies: two-space indentation, nulls left out, and text kept readable in a diff: templates
    /// are HTML, which the default encoder would turn into \u003C sequences. The files are data, never embedded in HTML.
    /// </summary>
    public static readonly JsonSerializerOptions Write = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Text(AudienceRequest audience) => Serialize(Canonical(audience));

    public static string Text(EventConfigRequest config) => Serialize(Canonical(config));

    public static string Text(JourneyDefinition journey) => Serialize(Canonical(journey));

    public static AudienceRequest Canonical(AudienceRequest audience) => audience with { Name = audience.Name?.Trim() };

    /// <summary>What the server keeps of a configuration: an empty condition is none, no fields is an empty list (left out).</summary>
    public static EventConfigRequest Canonical(EventConfigRequest config) => config with
    {
        Condition = string.IsNullOrEmpty(config.Condition) ? null : config.Condition,
        Fields = config.Fields is { Count: > 0 } fields ? fields : null,
    };

    /// <summary>Map members (data, headers, set, unknown members) sorted by key: their order means nothing to the engine.</summary>
    public static JourneyDefinition Canonical(JourneyDefinition journey) => journey with
    {
        Nodes = journey.Nodes?.ConvertAll(node => node is null ? node! : node with
        {
            Data = Sorted(node.Data),
            Headers = Sorted(node.Headers),
            Set = Sorted(node.Set),
            Unknown = Sorted(node.Unknown),
        }),
    };

    public static EventConfigRequest ToRequest(EventConfigResponse config) => Canonical(new EventConfigRequest(
        config.Name, config.IdType, config.Condition, config.Namespace, config.ProfileIdentifier,
        [.. config.Fields.Select(f => new EventFieldRequest(f.Path, f.Type))]));

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Write) + "\n";

    private static Dictionary<string, T>? Sorted<T>(Dictionary<string, T>? map) =>
        map is null ? null : new Dictionary<string, T>(map.OrderBy(e => e.Key, StringComparer.Ordinal));
}
