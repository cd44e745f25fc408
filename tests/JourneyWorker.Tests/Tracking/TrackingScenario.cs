using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Tracking;

/// <summary>
/// A journey published through the API and read once for an audience of everyone imported (born after 1900),
/// driven on the fake clock: the outside-in setting for tracking and consent tests.
/// </summary>
public sealed class TrackingScenario(EngineHarness h, Guid journeyId)
{
    public EngineHarness H { get; } = h;
    public Guid JourneyId { get; } = journeyId;

    public static string Person(string email, string firstName = "Ann", string extra = "") =>
        $$$"""{"identities": {"email": "{{{email}}}"}, "attributes": {"person": {"name": {"firstName": "{{{firstName}}}"}, "birthYear": 1985}}{{{extra}}}}""";

    /// <summary>Imports the profiles, publishes a journey whose entry is a one-off Read Audience going to <paramref name="first"/>, and runs it.</summary>
    public static async Task<TrackingScenario> StartAsync(EngineHarness h, string profiles, string first, string nodes, CancellationToken ct)
    {
        await h.ImportAsync(profiles, ct);
        var audience = JsonNode.Parse(await h.PostJsonAsync("/api/audiences", """{"name": "Everyone", "rule": "person.birthYear > 1900"}""", ct, 201))!["id"]!.GetValue<string>();
        var journey = $$"""
            { "name": "Tracking", "start": "read", "timeout": "P30D",
              "nodes": [
                { "id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": { "frequency": "once" }, "next": "{{first}}" },
                {{nodes}}
              ] }
            """;
        var journeyId = Guid.Parse(JsonNode.Parse(await h.PostJsonAsync("/api/journeys", journey, ct, 201))!["id"]!.GetValue<string>());
        await h.PostJsonAsync($"/api/journeys/{journeyId}/publish", "{}", ct);
        Guid versionId;
        await using (var db = h.App.Db())
        {
            versionId = db.JourneyVersions.Single(v => v.JourneyId == journeyId && v.Status == "live").Id;
        }
        await h.ReadAudienceAsync(versionId, testOnly: false, ct);
        await h.DrainAsync(ct);
        return new TrackingScenario(h, journeyId);
    }

    public async Task<JsonNode> ReportAsync(CancellationToken ct) =>
        JsonNode.Parse(await H.Client.GetStringAsync($"/api/journeys/{JourneyId}/report", ct))!;

    /// <summary>The instance of the profile with this e-mail identity, with its steps.</summary>
    public async Task<JsonNode> InstanceAsync(string email, CancellationToken ct) =>
        JsonNode.Parse(await H.Client.GetStringAsync($"/api/journeys/{JourneyId}/instances?profile=email:{email}", ct))!.AsArray().Single()!;

    public static IEnumerable<(string Node, string Outcome, string? Detail)> Steps(JsonNode instance) =>
        instance["steps"]!.AsArray().Select(s => (s!["node"]!.GetValue<string>(), s["outcome"]!.GetValue<string>(), (string?)s["detail"]));

    public static int Count(JsonNode report, string node, string outcome) => (int?)report["nodes"]?[node]?[outcome] ?? 0;

    /// <summary>A client with no API key, as a mail client or a phone would call /t/**.</summary>
    public HttpClient Anonymous() => H.App.WithKey(null);
}
