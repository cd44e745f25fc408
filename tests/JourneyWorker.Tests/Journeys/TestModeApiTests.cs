using System.Net.Http.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>Test mode through the API: test profiles only, every wait and timeout overridden, real sends, removal when turned off.</summary>
public sealed class TestModeApiTests
{
    private static string Definition(string audience) => Journey("read", "",
        Read(audience, "m"),
        Mail("m", "w", subject: "First"),
        """{"id": "w", "type": "wait", "duration": "P1D", "next": "e"}""",
        """{"id": "e", "type": "event", "event": "purchase", "timeout": "P2D", "timeoutNext": "late", "next": "done"}""",
        Mail("done", subject: "Done"),
        Mail("late", subject: "Late"));

    [Fact]
    public async Task Test_mode_runs_only_test_profiles_with_the_wait_override_and_turning_it_off_removes_them()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(4, test: n => n <= 2), Ct);
        await EventConfigAsync(h, "purchase");
        var id = await CreateAsync(h, Definition(await AudienceAsync(h)));

        var on = await (await h.Client.PostAsJsonAsync($"/api/journeys/{id}/test", new { enabled = true, waitOverride = "PT5S" }, Ct)).OkAsync<JsonObject>();
        Assert.True(on["testMode"]!.GetValue<bool>());
        Assert.Equal("PT5S", on["waitOverride"]!.GetValue<string>());
        var draft = await VersionAsync(h, id, JourneyStatus.Draft);

        // Read Audience in test mode takes the audience's test profiles only.
        Assert.Equal(2, await h.ReadAudienceAsync(draft, testOnly: true, Ct));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal([Email(1), Email(2)], h.Smtp.Messages.Select(m => m.To.Single()).Order());

        // P1D becomes 5 s; profile 1's purchase arrives, profile 2's event wait (P2D → 5 s) times out.
        h.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(2, await h.DrainAsync(Ct));
        Assert.Equal(1, (await EventAsync(h, "purchase", 1))["routed"]!.GetValue<int>());
        h.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(2, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(4, cancellationToken: Ct);
        var last = h.Smtp.Messages.Where(m => m.Message.Subject != "First").ToDictionary(m => m.To.Single(), m => m.Message.Subject);
        Assert.Equal(("Done", "Late"), (last[Email(1)], last[Email(2)]));

        var instances = (await h.Client.GetFromJsonAsync<JsonArray>($"/api/journeys/{id}/instances?profile=email:{Email(2)}", Ct))!;
        var trace = Assert.Single(instances)!;
        Assert.True(trace["test"]!.GetValue<bool>());
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded", "w:entered", "w:succeeded", "e:entered", "e:timedOut", "late:entered", "late:succeeded"],
            trace["steps"]!.AsArray().Select(s => $"{s!["node"]}:{s["outcome"]}").ToArray());
        var report = (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{id}/report", Ct))!;
        Assert.Equal(2, report["nodes"]!["m"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(2, report["instances"]!["completed"]!.GetValue<int>());

        var off = await (await h.Client.PostAsJsonAsync($"/api/journeys/{id}/test", new { enabled = false }, Ct)).OkAsync<JsonObject>();
        Assert.False(off["testMode"]!.GetValue<bool>());
        report = (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{id}/report", Ct))!;
        // Every node is still listed (report v2), with nothing counted.
        Assert.All(report["nodes"]!.AsObject(), n => Assert.All(n.Value!.AsObject(), count => Assert.Equal(0, count.Value!.GetValue<int>())));
        Assert.Equal(0, report["instances"]!["completed"]!.GetValue<int>());
        Assert.Empty((await h.Client.GetFromJsonAsync<JsonArray>($"/api/journeys/{id}/instances", Ct))!);
        await using var db = h.App.Db();
        Assert.Equal(0, await db.OutboxMessages.CountAsync(Ct));
        Assert.Equal(0, await h.ReadAudienceAsync(draft, testOnly: true, Ct)); // test mode off: nobody enters
    }

    [Fact]
    public async Task Test_mode_admits_only_test_profiles_on_an_event_start()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, test: n => n == 1), Ct);
        await EventConfigAsync(h, "signup");
        var id = await CreateAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "signup", "next": "m"}""", Mail("m")));
        await h.PostJsonAsync($"/api/journeys/{id}/test", """{"enabled": true}""", Ct);

        Assert.Equal(0, (await EventAsync(h, "signup", 2))["routed"]!.GetValue<int>());
        Assert.Equal(1, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);
        Assert.Equal(Email(1), Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).To.Single());
    }

    [Fact]
    public async Task Publishing_right_after_testing_admits_everyone_not_only_test_profiles()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, test: n => n == 1), Ct);
        await EventConfigAsync(h, "signup");
        var id = await CreateAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "signup", "next": "w"}""",
            """{"id": "w", "type": "wait", "duration": "PT1H"}"""));
        await h.PostJsonAsync($"/api/journeys/{id}/test", """{"enabled": true, "waitOverride": "PT5S"}""", Ct);
        Assert.Equal(1, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);

        // The same instant on the clock: what the engine compiled for the draft must not outlive the publish.
        await h.PostJsonAsync($"/api/journeys/{id}/publish", "{}", Ct);
        Assert.Equal(1, (await EventAsync(h, "signup", 2))["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);
        var live = Assert.Single(await InstancesAsync(h, id));
        Assert.False(live.IsTest);
        Assert.Equal(h.App.Time.GetUtcNow().AddHours(1).ToUnixTimeMilliseconds(), live.DueAt); // no test override
    }

    [Fact]
    public async Task Test_mode_on_an_invalid_journey_is_422_and_a_bad_override_is_400()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var id = await CreateAsync(h, Journey("m", "", Mail("m")));
        var problem = await (await h.Client.PostAsJsonAsync($"/api/journeys/{id}/test", new { enabled = true }, Ct)).ProblemAsync(422);
        Assert.Contains("start.notEntry", ((System.Text.Json.JsonElement)problem.Extensions["errors"]!).GetRawText(), StringComparison.Ordinal);
        await (await h.Client.PostAsJsonAsync($"/api/journeys/{id}/test", new { enabled = true, waitOverride = "soon" }, Ct)).ProblemAsync(400);
        Assert.False((await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{id}", Ct))!["testMode"]!.GetValue<bool>());
    }
}
