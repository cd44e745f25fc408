using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// The request and response examples of the OpenAPI document, by operationId: the worked example of the README (the
/// multi-channel journey) as the API sees it. The lint checks every example against its schema.
/// </summary>
public static partial class ApiExamples
{
    /// <summary>An operation's examples; <paramref name="Accepted"/> is its 202 answer where it has one beside the 200.</summary>
    private sealed record Example(string? Request, string? Response, string? Accepted = null);

    private const string AudienceId = "0196f2a4-1c3e-7b1a-9d2e-5f0a6b7c8d9e";
    private const string EventConfigId = "0196f2a4-2a10-7c44-8e21-3b5c6d7e8f90";
    private const string JourneyId = "0196f2a4-3b22-7d55-9f32-4c6d7e8f9a01";

    /// <summary>Puts the operation's examples on its request body and on its first successful response with a body.</summary>
    public static void Apply(OpenApiOperation operation)
    {
        if (operation.OperationId is not { } id || !Examples.TryGetValue(id, out var example))
        {
            return;
        }
        if (example.Request is { } request && operation.RequestBody?.Content is { } content)
        {
            Set(content, request);
        }
        if (example.Response is { } response
            && operation.Responses?.Where(r => r.Key.StartsWith('2') && r.Value.Content is { Count: > 0 }).Select(r => r.Value.Content).FirstOrDefault() is { } success)
        {
            Set(success, response);
        }
        if (example.Accepted is { } accepted && operation.Responses?.TryGetValue("202", out var later) == true && later.Content is { Count: > 0 } laterContent)
        {
            Set(laterContent, accepted);
        }
    }

    /// <summary>JSON for a JSON media type; the text itself (an NDJSON body, an HTML page) for any other.</summary>
    private static void Set(IDictionary<string, IOpenApiMediaType> content, string example)
    {
        foreach (var (type, media) in content)
        {
            if (media is OpenApiMediaType writable)
            {
                writable.Example = type.Contains("json", StringComparison.Ordinal) && !type.Contains("ndjson", StringComparison.Ordinal)
                    ? JsonNode.Parse(example)
                    : JsonValue.Create(example);
            }
        }
    }

    /// <summary>The operations that have examples (a test checks that every operation with a body or a response body has them).</summary>
    public static IReadOnlyCollection<string> Operations => Examples.Keys;

    private static class Import
    {
        public const string Started = """
            {"id": "0196f2a4-4c33-7e66-8a43-5d7e8f9a0b12", "status": "running", "processed": 0, "imported": 0, "failed": 0,
             "ratePerSecond": 0, "etaSeconds": null, "errors": [], "startedAt": "2026-03-02T09:00:00Z", "finishedAt": null, "reason": null}
            """;

        public const string Running = """
            {"id": "0196f2a4-4c33-7e66-8a43-5d7e8f9a0b12", "status": "running", "processed": 420000, "imported": 419998, "failed": 2,
             "ratePerSecond": 61250.5, "etaSeconds": 9.5, "errors": [{"line": 3, "error": "identities: A profile needs at least one identity."},
             {"line": 70211, "error": "Not a valid profile object: '}' is invalid after a property name."}],
             "startedAt": "2026-03-02T09:00:00Z", "finishedAt": null, "reason": null}
            """;
    }

    private static readonly Dictionary<string, Example> Examples = new(StringComparer.Ordinal)
    {
        ["UpsertProfile"] = new(Profile.Request, Profile.Response),
        ["GetProfile"] = new(null, Profile.Response),
        ["ImportProfiles"] = new(
            """
            {"identities": {"email": "ann@example.com"}, "attributes": {"homeAddress": {"city": "Seattle"}, "person": {"birthYear": 1985}}}
            {"identities": {"email": "bob@example.com", "crmId": "43"}, "attributes": {"homeAddress": {"city": "Atlanta"}}, "consent": {"email": true, "push": false}}
            """,
            """{"imported": 2, "failed": 1, "errors": [{"line": 3, "error": "A profile needs at least one identity."}]}""",
            Import.Started),
        ["GetImport"] = new(null, Import.Running),

        ["CreateAudience"] = new(Audience.Request, Audience.Response),
        ["ListAudiences"] = new(null, $"[{Audience.Response}]"),
        ["GetAudience"] = new(null, Audience.Response),
        ["UpdateAudience"] = new(Audience.Request, Audience.Response),
        ["PreviewAudience"] = new(null, $$"""{"count": 312, "sample": [{{Profile.Response}}]}"""),

        ["CreateEventConfig"] = new(EventConfig.Request, EventConfig.Response),
        ["ListEventConfigs"] = new(null, $"[{EventConfig.Response}]"),
        ["GetEventConfig"] = new(null, EventConfig.Response),
        ["UpdateEventConfig"] = new(EventConfig.Request, EventConfig.Response),

        ["IngestEvent"] = new(
            """{"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "Shoes", "purchaseDate": "2026-03-02T10:00:00Z"}""",
            """{"id": "0196f2a5-0a00-7e66-a043-5d7e8f9a0b12", "matched": ["purchase"], "routed": 1}"""),

        ["CreateJourney"] = new(Journey.Definition, $$"""{"id": "{{JourneyId}}", "version": 1, "status": "draft"}"""),
        ["ListJourneys"] = new(null, $"[{Journey.Response("live")}]"),
        ["GetJourney"] = new(null, Journey.Response("live")),
        ["UpdateJourney"] = new(Journey.Definition, Journey.Response("draft")),
        ["NewJourneyVersion"] = new(null, $$"""{"id": "{{JourneyId}}", "version": 2, "status": "draft"}"""),
        ["ValidateJourney"] = new(null, """
            {"valid": false,
             "errors": [{"node": "opened", "code": "next.unknown", "message": "Node 'opened' timeoutNext names 'followup', which does not exist."}],
             "warnings": [{"node": "followUp", "code": "node.unreachable", "message": "Node 'followUp' cannot be reached from the start node."}]}
            """),
        ["SetJourneyTestMode"] = new("""{"enabled": true, "waitOverride": "PT30S"}""", Journey.Response("draft", testMode: true)),
        ["PublishJourney"] = new(null, Journey.Response("live")),
        ["CloseJourney"] = new(null, Journey.Response("closed")),
        ["StopJourney"] = new(null, Journey.Response("stopped")),
        ["GetJourneyReport"] = new(null, Journey.Report),
        ["ListJourneyInstances"] = new(null, $"[{Journey.Instance}]"),
        ["GetInstance"] = new(null, Journey.Instance),
        ["SimulateJourney"] = new(Journey.SimulationRequest, Journey.SimulationResponse),

        ["GetFrequencyRules"] = new(null, FrequencyRules),
        ["PutFrequencyRules"] = new(FrequencyRules, FrequencyRules),
        ["PostEmailFeedback"] = new(
            """{"type": "bounce", "bounceType": "hard", "messageId": "<k3j5q9x2.5001.first@mail.example.com>", "status": "5.1.1"}""",
            """{"address": "ann@example.com", "suppressed": true, "reason": "hardBounce", "messageFound": true}"""),
        ["ListSuppressions"] = new(null, $"[{Suppression}]"),
        ["GetSuppression"] = new(null, Suppression),

        ["UnsubscribePage"] = new(null, """<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body><h1>Unsubscribe</h1><form method="post" action="…"><button type="submit">Unsubscribe</button></form></body></html>"""),
        ["Unsubscribe"] = new(null, "<!doctype html><html><body><h1>You are unsubscribed.</h1></body></html>"),
    };

    private const string FrequencyRules = """{"rules": [{"channel": "email", "max": 3, "per": "P7D"}, {"channel": "any", "max": 1, "per": "P1D"}]}""";

    private const string Suppression = """{"address": "ann@example.com", "reason": "hardBounce", "at": "2026-03-02T10:15:00Z", "detail": "5.1.1"}""";

    private static class Profile
    {
        public const string Request = """
            {"identities": {"crmId": "42"},
             "attributes": {"person": {"name": {"firstName": "Ann"}, "birthYear": 1985}, "homeAddress": {"city": "Seattle"},
                            "personalEmail": {"address": "ann@example.com"}},
             "pushTokens": [{"token": "fcm-device-token-ann", "platform": "android"}],
             "consent": {"email": true, "push": true}, "testProfile": false}
            """;

        public const string Response = """
            {"id": 1042, "identities": {"email": "ann@example.com", "crmId": "42"},
             "attributes": {"person": {"name": {"firstName": "Ann"}, "birthYear": 1985}, "homeAddress": {"city": "Seattle"},
                            "personalEmail": {"address": "ann@example.com"}},
             "pushTokens": [{"token": "fcm-device-token-ann", "platform": "android", "active": true}],
             "consent": {"email": true, "push": true}, "testProfile": false,
             "createdAt": "2026-03-01T08:00:00Z", "updatedAt": "2026-03-02T09:30:00Z"}
            """;
    }

    private static class Audience
    {
        public const string Request = """
            {"name": "West and South, born after 1980",
             "rule": "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980"}
            """;

        public const string Response = $$"""
            {"id": "{{AudienceId}}", "name": "West and South, born after 1980",
             "rule": "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980",
             "createdAt": "2026-03-01T08:00:00Z", "updatedAt": "2026-03-01T08:00:00Z"}
            """;
    }

    private static class EventConfig
    {
        public const string Request = """
            {"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"",
             "namespace": "email", "profileIdentifier": "customerEmail",
             "fields": [{"path": "productName", "type": "string"}, {"path": "purchaseDate", "type": "dateTime"}]}
            """;

        public const string Response = $$"""
            {"id": "{{EventConfigId}}", "name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"",
             "namespace": "email", "profileIdentifier": "customerEmail",
             "fields": [{"path": "productName", "type": "string"}, {"path": "purchaseDate", "type": "dateTime"}],
             "createdAt": "2026-03-01T08:05:00Z", "updatedAt": "2026-03-01T08:05:00Z"}
            """;
    }
}
