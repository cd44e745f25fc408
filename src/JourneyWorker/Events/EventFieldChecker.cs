using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JourneyWorker.Expressions;

namespace JourneyWorker.Events;

/// <summary>Checks a payload against the fields an event configuration declares.</summary>
public static partial class EventFieldChecker
{
    public static readonly IReadOnlyList<string> Types = ["string", "integer", "number", "boolean", "dateTime", "object", "array"];

    /// <summary>
    /// One message per declared field present with the wrong type, naming its path. A missing (or null) declared field is
    /// not an error: payloads may omit what they do not know. <c>integer</c> is a number with a whole value;
    /// <c>dateTime</c> is an ISO 8601 string (date, or date and time with optional offset) that parses.
    /// </summary>
    public static IReadOnlyList<string> Check(JsonObject payload, IReadOnlyList<EventField> fields)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(fields);
        var problems = new List<string>();
        foreach (var field in fields)
        {
            var node = ExpressionEvaluator.Resolve(payload, field.Path);
            if (node is null || Matches(node, field.Type))
            {
                continue;
            }
            problems.Add($"Field '{field.Path}' must be {Article(field.Type)} {field.Type}, not {Describe(node)}.");
        }
        return problems;
    }

    /// <summary>Reads <c>EventConfig.Fields</c> as stored.</summary>
    public static IReadOnlyList<EventField> ParseFields(string json) =>
        JsonSerializer.Deserialize<List<EventField>>(json, JsonSerializerOptions.Web) ?? [];

    public static string SerializeFields(IEnumerable<EventField> fields) => JsonSerializer.Serialize(fields, JsonSerializerOptions.Web);

    private static bool Matches(JsonNode node, string type)
    {
        var kind = node.GetValueKind();
        return type switch
        {
            "string" => kind == JsonValueKind.String,
            "integer" => kind == JsonValueKind.Number && double.IsInteger(Number(node)),
            "number" => kind == JsonValueKind.Number,
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "dateTime" => kind == JsonValueKind.String && IsDateTime(node.GetValue<string>()),
            "object" => kind == JsonValueKind.Object,
            "array" => kind == JsonValueKind.Array,
            _ => false,
        };
    }

    private static double Number(JsonNode node) => double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static bool IsDateTime(string s) =>
        IsoDateTime().IsMatch(s)
        && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);

    private static string Describe(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };

    private static string Article(string type) => type is "integer" or "object" or "array" ? "an" : "a";

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")]
    private static partial Regex IsoDateTime();
}
