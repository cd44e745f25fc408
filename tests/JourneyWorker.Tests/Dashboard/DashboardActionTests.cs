using System.Net;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using static JourneyWorker.Tests.Dashboard.DashboardScenario;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>The journey page's actions: confirmed, protected by antiforgery, and the same lifecycle the API drives.</summary>
public sealed class DashboardActionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Test_mode_publish_close_and_stop_work_from_the_page_once_confirmed()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journeyId, _) = await SeedJourneyTests.SetUpAsync(h);
        await h.PostJsonAsync($"/api/journeys/{journeyId}/publish", "{}", Ct);
        await h.PostJsonAsync($"/api/journeys/{journeyId}/versions", "{}", Ct, 201);
        using var browser = await SignInAsync(h.App, Ct);
        var page = $"/dashboard/journeys/{journeyId}";
        var html = await browser.GetStringAsync(page, Ct);
        foreach (var action in new[] { "validate", "test-on", "publish", "close", "stop" })
        {
            Assert.Contains($"action=\"/dashboard/journeys/{journeyId}/actions/{action}\"", html, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("/actions/test-off", html, StringComparison.Ordinal);

        Task<HttpResponseMessage> Post(string action, Dictionary<string, string> fields) => PostFormAsync(browser, $"{page}/actions/{action}", fields, Ct, tokenFrom: page);

        using (var unconfirmed = await Post("test-on", new() { ["waitOverride"] = "PT5S" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.StatusCode);
            Assert.Contains("Tick the confirmation box", await unconfirmed.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        using (var tooLong = await Post("test-on", new() { ["waitOverride"] = "P2D", ["confirm"] = "yes" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
            Assert.Contains("waitOverride must be an ISO 8601 duration up to P1D", await tooLong.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        Assert.False((await JourneyAsync(h, journeyId))["testMode"]!.GetValue<bool>());

        using (var on = await Post("test-on", new() { ["waitOverride"] = "PT5S", ["confirm"] = "yes" }))
        {
            Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
            Assert.Equal($"{page}?done=test-on", on.Headers.Location!.OriginalString);
        }
        var journey = await JourneyAsync(h, journeyId);
        Assert.True(journey["testMode"]!.GetValue<bool>());
        Assert.Equal("PT5S", journey["waitOverride"]!.GetValue<string>());
        var after = await browser.GetStringAsync($"{page}?done=test-on", Ct);
        Assert.Contains("Test mode is on", after, StringComparison.Ordinal);
        Assert.Contains("/actions/test-off", after, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Redirect, (await Post("test-off", new() { ["confirm"] = "yes" })).StatusCode);
        Assert.False((await JourneyAsync(h, journeyId))["testMode"]!.GetValue<bool>());

        using (var validate = await Post("validate", []))
        {
            Assert.Equal(HttpStatusCode.OK, validate.StatusCode);
            Assert.Contains("The journey is valid", await validate.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await Post("publish", new() { ["confirm"] = "yes" })).StatusCode);
        Assert.Equal(["finished", "live"], Statuses(await JourneyAsync(h, journeyId))); // version 1 ran nothing: closed and finished at once
        Assert.Equal(HttpStatusCode.Redirect, (await Post("close", new() { ["confirm"] = "yes" })).StatusCode);
        Assert.Equal(["finished", "finished"], Statuses(await JourneyAsync(h, journeyId)));

        // Nothing runs any more: stopping is refused as the API refuses it, and the page says why.
        using var stop = await Post("stop", new() { ["confirm"] = "yes" });
        Assert.Equal(HttpStatusCode.Conflict, stop.StatusCode);
        Assert.Contains("has no live or closed version to stop", await stop.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_draft_is_not_published_and_the_page_lists_its_errors()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var id = JsonNode.Parse(await h.PostJsonAsync("/api/journeys", """
            { "name": "Broken", "start": "in", "nodes": [ { "id": "in", "type": "journeyEntry", "next": "mail" }, { "id": "mail", "type": "email", "next": "gone" } ] }
            """, Ct, 201))!["id"]!.GetValue<string>();
        var expected = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/validate", "{}", Ct))!["errors"]!.AsArray();
        Assert.NotEmpty(expected);
        using var browser = await SignInAsync(h.App, Ct);
        var page = $"/dashboard/journeys/{id}";

        using var validate = await PostFormAsync(browser, $"{page}/actions/validate", [], Ct, tokenFrom: page);
        var validation = await validate.Content.ReadAsStringAsync(Ct);
        using var publish = await PostFormAsync(browser, $"{page}/actions/publish", new() { ["confirm"] = "yes" }, Ct, tokenFrom: page);
        var refused = await publish.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, publish.StatusCode);
        Assert.Contains("Publishing refused", refused, StringComparison.Ordinal);
        foreach (var error in expected)
        {
            Assert.Contains($"<code>{error!["code"]}</code>", validation, StringComparison.Ordinal);
            Assert.Contains($"<code>{error["code"]}</code>", refused, StringComparison.Ordinal);
        }
        Assert.Equal(["draft"], Statuses(await JourneyAsync(h, Guid.Parse(id))));
        // The diagram shows the gap the errors name.
        Assert.Contains("data-node=\"gone\"", await browser.GetStringAsync(page, Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_action_without_its_token_or_of_an_unknown_kind_changes_nothing()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journeyId, _) = await SeedJourneyTests.SetUpAsync(h);
        using var browser = await SignInAsync(h.App, Ct);
        var page = $"/dashboard/journeys/{journeyId}";

        using var forged = await browser.PostAsync($"{page}/actions/publish", new FormUrlEncodedContent(new Dictionary<string, string> { ["confirm"] = "yes" }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        // A token made for the sign-in page (another, anonymous user) is no good either.
        using var otherToken = await PostFormAsync(browser, $"{page}/actions/publish", new() { ["confirm"] = "yes" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, otherToken.StatusCode);
        using var unknown = await PostFormAsync(browser, $"{page}/actions/delete", new() { ["confirm"] = "yes" }, Ct, tokenFrom: page);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(["draft"], Statuses(await JourneyAsync(h, journeyId)));
    }

    private static async Task<JsonNode> JourneyAsync(EngineHarness h, Guid id) => JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{id}", Ct))!;

    private static string[] Statuses(JsonNode journey) => [.. journey["versions"]!.AsArray().Select(v => v!["status"]!.GetValue<string>())];
}
