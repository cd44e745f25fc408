using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>The journey lifecycle through the API: draft, publish, versions, close, stop, finished; reports and traces.</summary>
public sealed class JourneyLifecycleApiTests
{
    private static string Definition(string subject) => Journey("e", "",
        """{"id": "e", "type": "event", "event": "signup", "next": "w"}""",
        """{"id": "w", "type": "wait", "duration": "PT1H", "next": "m"}""",
        Mail("m", subject: subject));

    private static async Task<JsonNode> GetAsync(EngineHarness h, string url) =>
        JsonNode.Parse(await h.Client.GetStringAsync(url, Ct))!;

    private static string[] Statuses(JsonNode journey) =>
        [.. journey["versions"]!.AsArray().Select(v => $"{v!["version"]}:{v["status"]}")];

    private static Task<HttpResponseMessage> PutAsync(EngineHarness h, Guid id, string json) =>
        h.Client.PutAsync($"/api/journeys/{id}", new StringContent(json, Encoding.UTF8, "application/json"), Ct);

    private static async Task<int> RoutedAsync(EngineHarness h, int profile) =>
        (await EventAsync(h, "signup", profile))["routed"]!.GetValue<int>();

    [Fact]
    public async Task Draft_publish_new_version_close_stop_and_finished()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(4), Ct);
        await EventConfigAsync(h, "signup");
        var id = await CreateAsync(h, Definition("Draft"));

        var created = await GetAsync(h, $"/api/journeys/{id}");
        Assert.Equal(("draft", 1), (created["status"]!.GetValue<string>(), created["version"]!.GetValue<int>()));
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(h, id, Definition("V1"))).StatusCode);
        Assert.Equal("V1", (await GetAsync(h, $"/api/journeys/{id}"))["definition"]!["nodes"]![2]!["subject"]!.GetValue<string>());
        Assert.Equal(0, await RoutedAsync(h, 1)); // a draft admits nobody

        await h.PostJsonAsync($"/api/journeys/{id}/publish", "{}", Ct);
        var conflict = await (await PutAsync(h, id, Definition("changed"))).ProblemAsync(409);
        Assert.Contains("versions", conflict.Detail, StringComparison.Ordinal);
        await (await h.Client.PostAsync($"/api/journeys/{id}/publish", null, Ct)).ProblemAsync(409);

        Assert.Equal(1, await RoutedAsync(h, 1)); // p1 runs on v1
        await h.DrainAsync(Ct);

        var v2 = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/versions", "{}", Ct, 201))!;
        Assert.Equal((2, "draft"), (v2["version"]!.GetValue<int>(), v2["status"]!.GetValue<string>()));
        await (await h.Client.PostAsync($"/api/journeys/{id}/versions", null, Ct)).ProblemAsync(409);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(h, id, Definition("V2"))).StatusCode);
        var published = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/publish", "{}", Ct))!;
        Assert.Equal(["1:closed", "2:live"], Statuses(published));

        Assert.Equal(0, await RoutedAsync(h, 1)); // still running on v1: never in two versions at once
        Assert.Equal(1, await RoutedAsync(h, 2)); // new entries go to v2
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        var subjects = h.Smtp.Messages.ToDictionary(m => m.To.Single(), m => m.Message.Subject);
        Assert.Equal(("V1", "V2"), (subjects[Email(1)], subjects[Email(2)]));
        Assert.Equal(["1:finished", "2:live"], Statuses(await GetAsync(h, $"/api/journeys/{id}")));

        Assert.Equal(1, await RoutedAsync(h, 3)); // waiting in v2 when it is closed
        await h.DrainAsync(Ct);
        Assert.Equal(["1:finished", "2:closed"], Statuses(JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/close", "{}", Ct))!));
        Assert.Equal(0, await RoutedAsync(h, 4)); // closed: no new entries

        var stopped = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/stop", "{}", Ct))!;
        Assert.Equal(["1:finished", "2:stopped"], Statuses(stopped));
        var instances = await InstancesAsync(h, id);
        Assert.Equal(3, instances.Count);
        var p3 = Assert.Single(instances, i => i.Status == InstanceStatus.Exited);
        Assert.Equal("journeyStopped", p3.EndReason);
        Assert.Equal("w:exited", (await TraceAsync(h, p3.Id))[^1]);
        h.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await h.DrainAsync(Ct));
        Assert.Equal(2, h.Smtp.Messages.Count);
        await (await h.Client.PostAsync($"/api/journeys/{id}/stop", null, Ct)).ProblemAsync(409);

        // The report is the step history counted.
        var report = await GetAsync(h, $"/api/journeys/{id}/report");
        var history = (await GetAsync(h, $"/api/journeys/{id}/instances")).AsArray().SelectMany(i => i!["steps"]!.AsArray())
            .GroupBy(s => (Node: s!["node"]!.GetValue<string>(), Outcome: s!["outcome"]!.GetValue<string>()))
            .Select(g => (g.Key.Node, g.Key.Outcome, Count: g.Count())).ToList();
        Assert.Contains(("e", StepOutcome.Entered, 3), history);
        foreach (var s in history.Where(s => s.Outcome != StepOutcome.Exited))
        {
            Assert.Equal(s.Count, report["nodes"]![s.Node]![s.Outcome]!.GetValue<int>());
        }
        Assert.Equal(3, report["nodes"]!["e"]!["entered"]!.GetValue<int>());
        Assert.Equal(2, report["nodes"]!["m"]!["succeeded"]!.GetValue<int>());
        Assert.Equal((2, 1, 0), (report["instances"]!["completed"]!.GetValue<int>(), report["instances"]!["exited"]!.GetValue<int>(),
            report["instances"]!["waiting"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Publishing_an_invalid_journey_is_422_listing_the_errors_by_node_and_code()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var id = await CreateAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "nowhere", "next": "gone"}"""));
        var response = await h.Client.PostAsync($"/api/journeys/{id}/publish", null, Ct);
        var problem = await response.ProblemAsync(422);
        var errors = ((System.Text.Json.JsonElement)problem.Extensions["errors"]!).EnumerateArray()
            .Select(e => (e.GetProperty("node").GetString(), e.GetProperty("code").GetString())).ToList();
        Assert.Contains(("e", "event.unknown"), errors);
        Assert.Contains(("e", "next.unknown"), errors);
        Assert.Equal("draft", (await GetAsync(h, $"/api/journeys/{id}"))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Instances_by_profile_and_instance_trace()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2), Ct);
        await EventConfigAsync(h, "signup");
        var id = await CreateAsync(h, Definition("Hi"));
        await h.PostJsonAsync($"/api/journeys/{id}/publish", "{}", Ct);
        await RoutedAsync(h, 1);
        await RoutedAsync(h, 2);
        await h.DrainAsync(Ct);

        var all = (await GetAsync(h, $"/api/journeys/{id}/instances")).AsArray();
        Assert.Equal(2, all.Count);
        var mine = Assert.Single((await GetAsync(h, $"/api/journeys/{id}/instances?profile=email:{Email(2)}")).AsArray())!;
        Assert.Equal(("waiting", "w", 1), (mine["status"]!.GetValue<string>(), mine["node"]!.GetValue<string>(), mine["version"]!.GetValue<int>()));
        Assert.Empty((await GetAsync(h, $"/api/journeys/{id}/instances?profile=email:nobody@example.com")).AsArray());

        var trace = await GetAsync(h, $"/api/instances/{mine["id"]}");
        Assert.Equal(["e:entered", "e:succeeded", "w:entered"],
            trace["steps"]!.AsArray().Select(s => $"{s!["node"]}:{s["outcome"]}").ToArray());
        Assert.Equal(h.App.Time.GetUtcNow().AddHours(1).UtcDateTime, trace["dueAt"]!.GetValue<DateTime>());

        foreach (var bad in new[] { "email", ":x", "email:", "nocolon" })
        {
            await (await h.Client.GetAsync($"/api/journeys/{id}/instances?profile={bad}", Ct)).ProblemAsync(400);
        }
    }

    [Fact]
    public async Task Unknown_ids_are_404_problems()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var unknown = Guid.NewGuid();
        await (await h.Client.GetAsync($"/api/journeys/{unknown}", Ct)).ProblemAsync(404);
        await (await PutAsync(h, unknown, Definition("x"))).ProblemAsync(404);
        foreach (var action in new[] { "publish", "close", "stop", "versions", "validate" })
        {
            await (await h.Client.PostAsync($"/api/journeys/{unknown}/{action}", null, Ct)).ProblemAsync(404);
        }
        await (await h.Client.PostAsJsonAsync($"/api/journeys/{unknown}/test", new { enabled = true }, Ct)).ProblemAsync(404);
        await (await h.Client.GetAsync($"/api/journeys/{unknown}/report", Ct)).ProblemAsync(404);
        await (await h.Client.GetAsync($"/api/journeys/{unknown}/instances", Ct)).ProblemAsync(404);
        await (await h.Client.GetAsync("/api/instances/987654", Ct)).ProblemAsync(404);
        await (await h.Client.GetAsync("/api/instances/abc", Ct)).ProblemAsync(404);
        await (await h.Client.GetAsync("/api/journeys/not-a-guid", Ct)).ProblemAsync(404);
    }
}
