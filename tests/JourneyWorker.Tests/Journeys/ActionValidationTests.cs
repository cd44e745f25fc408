using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>updateProfile and jump through validate and publish: what depends on other journeys, and what publishing refuses.</summary>
public sealed class ActionValidationTests
{
    private static string Entry(string name, string start = """{"id": "entry", "type": "journeyEntry", "next": "m"}""") =>
        $$"""{"name": "{{name}}", "start": "entry", "nodes": [{{start}}, {{Mail("m")}}]}""";

    private static string Jumping(Guid target, string extra = "") => Journey("e", "",
        """{"id": "e", "type": "event", "event": "signup", "next": "j"}""",
        $$"""{"id": "j", "type": "jump", "journey": "{{target}}", "next": "up"}""",
        $$$"""{"id": "up", "type": "updateProfile", "set": {"lastJump.from": "{{ journey.name }}"{{{extra}}}}}""");

    private static async Task<JsonObject> ValidateAsync(EngineHarness h, Guid journey) =>
        JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{journey}/validate", "{}", Ct))!.AsObject();

    private static string[] Codes(JsonObject result, string list) => [.. result[list]!.AsArray().Select(e => e!["code"]!.GetValue<string>())];

    [Fact]
    public async Task A_jump_into_a_live_journeyEntry_journey_with_an_update_is_valid_and_publishes()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "signup");
        var (target, _) = await PublishAsync(h, Entry("Welcome"));
        var source = await CreateAsync(h, Jumping(target));

        var result = await ValidateAsync(h, source);
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Empty(result["warnings"]!.AsArray());
        await h.PostJsonAsync($"/api/journeys/{source}/publish", "{}", Ct);
    }

    [Fact]
    public async Task A_jump_into_a_journey_that_does_not_start_with_journeyEntry_is_refused_at_validate_and_publish()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "signup");
        var (live, _) = await PublishAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "signup", "next": "m"}""", Mail("m")));
        var draft = await CreateAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "signup", "next": "m"}""", Mail("m")));
        foreach (var target in new[] { live, draft })
        {
            var source = await CreateAsync(h, Jumping(target));
            Assert.Contains("jump.targetNotJourneyEntry", Codes(await ValidateAsync(h, source), "errors"));
            var refused = await h.Client.PostAsync($"/api/journeys/{source}/publish", null, Ct);
            var body = await refused.Content.ReadAsStringAsync(Ct);
            Assert.True((int)refused.StatusCode == 422, body);
            Assert.Contains("jump.targetNotJourneyEntry", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_draft_target_is_a_warning_and_a_jump_into_the_journey_itself_an_error()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "signup");
        var draft = await CreateAsync(h, Entry("Welcome"));
        var source = await CreateAsync(h, Jumping(draft));
        var result = await ValidateAsync(h, source);
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Equal(["jump.targetNotLive"], Codes(result, "warnings"));

        var self = await CreateAsync(h, Entry("Loop"));
        var looping = Entry("Loop", $$"""{"id": "entry", "type": "journeyEntry", "next": "j"}, {"id": "j", "type": "jump", "journey": "{{self}}", "next": "m"}""");
        Assert.True((await h.Client.PutAsync($"/api/journeys/{self}", new StringContent(looping, Encoding.UTF8, "application/json"), Ct)).IsSuccessStatusCode);
        Assert.Contains("jump.self", Codes(await ValidateAsync(h, self), "errors"));
    }

    [Fact]
    public async Task Setting_consent_is_refused_at_publish_naming_the_node()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "signup");
        var (target, _) = await PublishAsync(h, Entry("Welcome"));
        var source = await CreateAsync(h, Jumping(target, """, "consent.email": "false" """));

        var refused = await h.Client.PostAsync($"/api/journeys/{source}/publish", null, Ct);
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync(Ct))!;
        Assert.Equal(422, (int)refused.StatusCode);
        var error = Assert.Single(problem["errors"]!.AsArray(), e => e!["code"]!.GetValue<string>() == "updateProfile.consentNotUpdatable")!;
        Assert.Equal("up", error["node"]!.GetValue<string>());
        Assert.Contains("consent.email", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("draft", (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{source}", Ct))!["status"]!.GetValue<string>());
    }
}
