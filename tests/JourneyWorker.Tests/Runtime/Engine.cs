using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Small building blocks for engine tests through the public API: profiles p1…pN (identity
/// email:pN@example.com), rule-based events matched on "kind", journeys created and published.
/// </summary>
public static class Engine
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static string Email(int n) => $"p{n}@example.com";

    /// <summary>NDJSON for profiles 1..count; <paramref name="attributes"/> gives extra attribute JSON members per profile.</summary>
    public static string ProfilesNdjson(int count, Func<int, string>? attributes = null, Func<int, bool>? test = null)
    {
        var sb = new StringBuilder();
        for (var n = 1; n <= count; n++)
        {
            var extra = attributes?.Invoke(n) is { Length: > 0 } a ? ", " + a : "";
            var isTest = test?.Invoke(n) == true ? "true" : "false";
            sb.Append(CultureInfo.InvariantCulture,
                $$"""{"identities": {"email": "{{Email(n)}}"}, "attributes": {"n": {{n}}, "name": "P{{n}}"{{extra}}}, "testProfile": {{isTest}}}""").Append('\n');
        }
        return sb.ToString();
    }

    public static async Task<string> AudienceAsync(EngineHarness h, string rule = "n > 0")
    {
        var body = new JsonObject { ["name"] = "aud-" + Guid.NewGuid().ToString("N")[..8], ["rule"] = rule }.ToJsonString();
        return JsonNode.Parse(await h.PostJsonAsync("/api/audiences", body, Ct, 201))!["id"]!.GetValue<string>();
    }

    /// <summary>A rule-based event configuration matching payloads whose kind is <paramref name="name"/>, profile by email.</summary>
    public static Task EventConfigAsync(EngineHarness h, string name) => h.PostJsonAsync("/api/event-configs", $$"""
        {"name": "{{name}}", "idType": "ruleBased", "condition": "kind = \"{{name}}\"", "namespace": "email", "profileIdentifier": "email"}
        """, Ct, 201);

    /// <summary>Sends an event of kind <paramref name="name"/> for profile <paramref name="n"/>; returns the accepted body.</summary>
    public static async Task<JsonNode> EventAsync(EngineHarness h, string name, int n, string extra = "")
    {
        var more = extra.Length > 0 ? ", " + extra : "";
        var response = await h.App.Ingest().PostAsync("/api/events",
            new StringContent($$"""{"kind": "{{name}}", "email": "{{Email(n)}}"{{more}}}""", Encoding.UTF8, "application/json"), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True((int)response.StatusCode == 202, body);
        return JsonNode.Parse(body)!;
    }

    /// <summary>A journey JSON: a name, a start and the nodes (each a JSON object text), with optional extra top-level members.</summary>
    public static string Journey(string start, string extra, params string[] nodes) =>
        $$"""{"name": "J", "start": "{{start}}"{{(extra.Length > 0 ? ", " + extra : "")}}, "nodes": [{{string.Join(", ", nodes)}}]}""";

    public static string Read(string audienceId, string next) =>
        $$"""{"id": "read", "type": "readAudience", "audience": "{{audienceId}}", "next": "{{next}}"}""";

    public static string Mail(string id, string? next = null, string subject = "Hi {{profile.name}}", string? errorNext = null) =>
        new JsonObject
        {
            ["id"] = id, ["type"] = "email", ["subject"] = subject, ["html"] = "<p>Hello</p>",
            ["next"] = next, ["errorNext"] = errorNext,
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });

    public static async Task<Guid> CreateAsync(EngineHarness h, string journey) =>
        Guid.Parse(JsonNode.Parse(await h.PostJsonAsync("/api/journeys", journey, Ct, 201))!["id"]!.GetValue<string>());

    /// <summary>Creates and publishes a journey; returns the journey id and its live version id.</summary>
    public static async Task<(Guid Journey, Guid Version)> PublishAsync(EngineHarness h, string journey)
    {
        var id = await CreateAsync(h, journey);
        await h.PostJsonAsync($"/api/journeys/{id}/publish", "{}", Ct);
        return (id, await VersionAsync(h, id, JourneyStatus.Live));
    }

    public static async Task<Guid> VersionAsync(EngineHarness h, Guid journeyId, string status)
    {
        await using var db = h.App.Db();
        return await db.JourneyVersions.Where(v => v.JourneyId == journeyId && v.Status == status).Select(v => v.Id).SingleAsync(Ct);
    }

    public static async Task<List<JourneyInstance>> InstancesAsync(EngineHarness h, Guid journeyId)
    {
        await using var db = h.App.Db();
        return await db.JourneyInstances.AsNoTracking().Where(i => i.JourneyId == journeyId).OrderBy(i => i.ProfileId).ThenBy(i => i.Id).ToListAsync(Ct);
    }

    public static async Task<JourneyInstance> SingleInstanceAsync(EngineHarness h, Guid journeyId) =>
        Assert.Single(await InstancesAsync(h, journeyId));

    /// <summary>The history of an instance as "node:outcome" strings in order, as the instance endpoints show it.</summary>
    public static Task<List<string>> TraceAsync(EngineHarness h, long instanceId) => TraceAsync(h.App, instanceId);

    public static async Task<List<string>> TraceAsync(JourneyWorkerApp app, long instanceId) =>
        [.. (await StepsAsync(app, instanceId)).Select(s => s.Node + ":" + s.Outcome)];

    public static async Task<IReadOnlyList<StepResponse>> StepsAsync(JourneyWorkerApp app, long instanceId)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var instance = await scope.ServiceProvider.GetRequiredService<JourneyReports>().InstanceAsync(instanceId, Ct);
        return Assert.IsType<InstanceResponse>(instance).Steps;
    }

    /// <summary>Imports profiles, publishes a Read Audience journey over all of them and reads the audience once.</summary>
    public static async Task<(Guid Journey, Guid Version)> StartReadAudienceAsync(EngineHarness h, int profiles, string next, string extra, params string[] nodes)
    {
        await h.ImportAsync(ProfilesNdjson(profiles), Ct);
        var audience = await AudienceAsync(h);
        var published = await PublishAsync(h, Journey("read", extra, [Read(audience, next), .. nodes]));
        Assert.Equal(profiles, await h.ReadAudienceAsync(published.Version, testOnly: false, Ct));
        return published;
    }
}
