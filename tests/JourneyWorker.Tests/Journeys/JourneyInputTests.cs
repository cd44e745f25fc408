using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>Odd journey bodies: stored and read back, or refused with a 4xx, never a 500.</summary>
public sealed class JourneyInputTests
{
    [Fact]
    public async Task A_node_with_an_unknown_property_is_stored_read_back_and_reported()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var id = await CreateAsync(h, Journey("m", "", """{"id": "m", "type": "end", "colour": "red", "extra": {"a": [1, 2]}}"""));

        var journey = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{id}", Ct))!;
        Assert.Equal("red", journey["definition"]!["nodes"]![0]!["colour"]!.GetValue<string>());
        Assert.Equal(2, journey["definition"]!["nodes"]![0]!["extra"]!["a"]![1]!.GetValue<int>());
        var result = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/validate", "{}", Ct))!;
        Assert.Equal(2, result["errors"]!.AsArray().Count(e => e!["code"]!.GetValue<string>() == "node.unknownProperty"));
    }

    [Theory]
    [InlineData("""{"name": "J", "start": "m", "nodes": [null]}""")]
    [InlineData("""{"name": "J", "start": "m", "nodes": [{"id": "m", "type": "condition", "branches": [null]}]}""")]
    [InlineData("""{"name": "J", "start": "m", "nodes": [{"id": "m", "type": "push", "title": "t", "body": "b", "data": {"k": null}}]}""")]
    [InlineData("""{"name": "J", "start": "m", "timeout": "P10000000D", "nodes": [{"id": "m", "type": "end"}]}""")]
    [InlineData("""{"name": "J", "start": "m", "nodes": [{"id": "m", "type": "updateProfile", "set": {"a": 5}}]}""")]
    [InlineData("""{"name": "J", "start": "m", "nodes": [{"id": "m", "type": "updateProfile", "set": {"a": null, "": "x"}}]}""")]
    [InlineData("""{"name": "J", "start": "m", "nodes": [{"id": "m", "type": "updateProfile", "set": ["a"]}]}""")]
    [InlineData("""{"name": "J", "start": "m", "nodes": [{"id": "m", "type": "jump", "journey": {"id": 1}}]}""")]
    public async Task Hostile_definitions_get_a_4xx_or_a_validation_result_never_a_500(string json)
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var created = await h.Client.PostAsync("/api/journeys", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        Assert.True((int)created.StatusCode is 201 or 400, await created.Content.ReadAsStringAsync(Ct));
        if ((int)created.StatusCode == 201)
        {
            var id = JsonNode.Parse(await created.Content.ReadAsStringAsync(Ct))!["id"]!.GetValue<string>();
            var validated = await h.Client.PostAsync($"/api/journeys/{id}/validate", null, Ct);
            var body = await validated.Content.ReadAsStringAsync(Ct);
            Assert.Equal(200, (int)validated.StatusCode);
            Assert.False(JsonNode.Parse(body)!["valid"]!.GetValue<bool>(), body);
            Assert.Equal(200, (int)(await h.Client.GetAsync($"/api/journeys/{id}", Ct)).StatusCode);
        }
    }
}
