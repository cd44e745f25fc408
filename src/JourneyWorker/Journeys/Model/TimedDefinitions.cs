using System.Text.Json;
using System.Text.Json.Serialization;

namespace JourneyWorker.Journeys.Model;

/// <summary>
/// When a message node may send, in local time: on <see cref="Days"/> ("mon"…"sun") from <see cref="From"/> to
/// <see cref="To"/> ("HH:mm"). <see cref="TimeZone"/> is "profile" (the default: the profile's attribute timeZone, else
/// Journeys:DefaultTimeZone) or an IANA name. From after To is a window across midnight that belongs to the day it opens.
/// </summary>
public sealed record SendWindowDefinition(List<string>? Days, string? From, string? To, string? TimeZone)
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; init; }
}

/// <summary>
/// What a wait waits until: a moment (<see cref="At"/>, written as an ISO 8601 string, the original form) or the next
/// local time of day (<see cref="Time"/> "HH:mm" in <see cref="TimeZone"/>, "profile" or an IANA name), written as an object.
/// </summary>
public sealed record WaitUntil
{
    public DateTimeOffset? At { get; init; }
    public string? Time { get; init; }
    public string? TimeZone { get; init; }
    public Dictionary<string, JsonElement>? Unknown { get; init; }
}

/// <summary>
/// Reads and writes <see cref="WaitUntil"/> in both forms, so that definitions stored before the object form existed
/// read as they did and are written back unchanged.
/// </summary>
public sealed class WaitUntilConverter : JsonConverter<WaitUntil>
{
    public override WaitUntil Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.TryGetDateTimeOffset(out var at)
                    ? new WaitUntil { At = at }
                    : throw new JsonException("until must be an ISO 8601 date and time (e.g. 2026-03-02T09:00:00Z) or an object { \"time\": \"09:00\", \"timeZone\": \"profile\" }.");
            case JsonTokenType.StartObject:
                var form = JsonSerializer.Deserialize<LocalForm>(ref reader, options)!;
                return new WaitUntil { Time = form.Time, TimeZone = form.TimeZone, Unknown = form.Unknown };
            default:
                throw new JsonException($"until must be a date and time string or an object, not {reader.TokenType}.");
        }
    }

    public override void Write(Utf8JsonWriter writer, WaitUntil value, JsonSerializerOptions options)
    {
        if (value.At is { } at)
        {
            writer.WriteStringValue(at);
            return;
        }
        JsonSerializer.Serialize(writer, new LocalForm(value.Time, value.TimeZone) { Unknown = value.Unknown }, options);
    }

    private sealed record LocalForm(string? Time, string? TimeZone)
    {
        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Unknown { get; init; }
    }
}
