using System.Net;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Runtime;

/// <summary>The use case the product exists for, end to end through the public API, real SMTP and an FCM endpoint.</summary>
public sealed class SeedJourneyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public const string Profiles = """
        {"identities": {"email": "ann@example.com"}, "attributes": {"person": {"name": {"firstName": "Ann"}, "birthYear": 1985}, "homeAddress": {"city": "Seattle"}, "personalEmail": {"address": "ann@example.com"}}, "pushTokens": [{"token": "ann-phone", "platform": "android"}]}
        {"identities": {"email": "bob@example.com"}, "attributes": {"person": {"name": {"firstName": "Bob"}, "birthYear": 1990}, "homeAddress": {"city": "Atlanta"}}}
        {"identities": {"email": "cid@example.com"}, "attributes": {"person": {"name": {"firstName": "Cid"}, "birthYear": 1985}, "homeAddress": {"city": "Boston"}}}
        {"identities": {"email": "dee@example.com"}, "attributes": {"person": {"name": {"firstName": "Dee"}, "birthYear": 1975}, "homeAddress": {"city": "Seattle"}}}
        {"identities": {"email": "eve@example.com"}, "attributes": {"person": {"name": {"firstName": "<script>alert(1)</script>"}, "birthYear": 1992}, "homeAddress": {"city": "San Francisco"}}, "consent": {"email": false}}
        {"identities": {"email": "fay@example.com"}, "attributes": {"person": {"name": {"firstName": "<script>x</script>"}, "birthYear": 1999}, "homeAddress": {"city": "San Francisco"}}}
        """;

    public static string Journey(string audienceId) => $$$"""
        { "name": "Multi-channel", "start": "read", "timeout": "P91D",
          "nodes": [
            { "id": "read", "type": "readAudience", "audience": "{{{audienceId}}}", "schedule": { "frequency": "once" }, "next": "first" },
            { "id": "first", "type": "email", "subject": "Hello {{profile.person.name.firstName}}", "html": "<p>Hi {{profile.person.name.firstName}}, see <a href=\"https://shop.example.com/new\">what is new</a></p>", "next": "opened" },
            { "id": "opened", "type": "reaction", "action": "first", "reaction": "emailOpened", "next": "purchase", "timeout": "P1D", "timeoutNext": "followUp" },
            { "id": "followUp", "type": "email", "subject": "Did you miss us, {{profile.person.name.firstName}}?", "html": "<p>Still there?</p>" },
            { "id": "purchase", "type": "event", "event": "purchase", "next": "thanks" },
            { "id": "thanks", "type": "push", "title": "Thank you", "body": "Enjoy your {{events.purchase.productName}}" }
          ] }
        """;

    public static async Task<(Guid JourneyId, string AudienceId)> SetUpAsync(EngineHarness h)
    {
        await h.ImportAsync(Profiles, Ct);
        var audience = JsonNode.Parse(await h.PostJsonAsync("/api/audiences", """
            {"name": "West and South, born after 1980", "rule": "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980"}
            """, Ct, 201))!["id"]!.GetValue<string>();
        await h.PostJsonAsync("/api/event-configs", """
            {"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail",
             "fields": [{"path": "productName", "type": "string"}, {"path": "purchaseDate", "type": "dateTime"}]}
            """, Ct, 201);
        var journeyId = Guid.Parse(JsonNode.Parse(await h.PostJsonAsync("/api/journeys", Journey(audience), Ct, 201))!["id"]!.GetValue<string>());
        return (journeyId, audience);
    }

    private static async Task<Guid> LiveVersionAsync(EngineHarness h, Guid journeyId)
    {
        await using var db = h.App.Db();
        return db.JourneyVersions.Single(v => v.JourneyId == journeyId && v.Status == "live").Id;
    }

    [Fact]
    public async Task Seed_journey_runs_end_to_end_as_the_use_case_describes()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journeyId, _) = await SetUpAsync(h);

        var validation = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{journeyId}/validate", "{}", Ct))!;
        Assert.True(validation["valid"]!.GetValue<bool>(), validation.ToJsonString());
        await h.PostJsonAsync($"/api/journeys/{journeyId}/publish", "{}", Ct);
        var versionId = await LiveVersionAsync(h, journeyId);

        // Read Audience: Ann, Bob, Eve and Fay qualify; Cid (Boston) and Dee (1975) do not.
        Assert.Equal(4, await h.ReadAudienceAsync(versionId, testOnly: false, Ct));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        var first = h.Smtp.Messages.ToDictionary(m => m.To.Single());
        Assert.Equal(["ann@example.com", "bob@example.com", "fay@example.com"], first.Keys.Order());
        Assert.Equal("Hello Ann", first["ann@example.com"].Message.Subject);
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", first["fay@example.com"].Message.HtmlBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", first["fay@example.com"].Message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("List-Unsubscribe=One-Click", first["ann@example.com"].Message.Headers["List-Unsubscribe-Post"], StringComparison.Ordinal);

        // Ann opens the e-mail; a purchase that does not match the rule moves nothing.
        var pixel = await h.App.WithKey(null).GetAsync(EngineHarness.PixelPath(first["ann@example.com"]), Ct);
        Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        Assert.Equal("image/gif", pixel.Content.Headers.ContentType?.MediaType);
        await h.DrainAsync(Ct);
        var other = JsonNode.Parse(await h.PostJsonAsync("/api/events",
            """{"purchaseMessage": "see you", "customerEmail": "ann@example.com", "productName": "Hat"}""", Ct, 202))!;
        Assert.Empty(other["matched"]!.AsArray());
        var purchase = JsonNode.Parse(await h.PostJsonAsync("/api/events",
            """{"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "Shoes", "purchaseDate": "2026-03-02T10:00:00Z"}""", Ct, 202))!;
        Assert.Equal("purchase", purchase["matched"]![0]!.GetValue<string>());
        Assert.Equal(1, purchase["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);

        var push = Assert.Single(h.Fcm.Messages);
        Assert.Equal("ann-phone", push.Token);
        Assert.Equal("Thank you", push.Message["notification"]!["title"]!.GetValue<string>());
        Assert.Equal("Enjoy your Shoes", push.Message["notification"]!["body"]!.GetValue<string>());
        Assert.StartsWith("http://journeys.test/t/p/", push.Message["data"]!["openUrl"]!.GetValue<string>(), StringComparison.Ordinal);

        // A day later the non-openers (Bob, Fay) get the follow-up; Eve (no consent) never gets anything.
        h.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(5, cancellationToken: Ct);
        var followUps = h.Smtp.Messages.Where(m => (m.Message.Subject ?? "").StartsWith("Did you miss us", StringComparison.Ordinal)).Select(m => m.To.Single()).Order();
        Assert.Equal(["bob@example.com", "fay@example.com"], followUps);
        Assert.DoesNotContain(h.Smtp.Messages, m => m.To.Contains("eve@example.com"));

        var report = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}/report", Ct))!;
        Assert.Equal(4, report["nodes"]!["first"]!["entered"]!.GetValue<int>());
        Assert.Equal(3, report["nodes"]!["first"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(1, report["nodes"]!["first"]!["skipped"]!.GetValue<int>());
        // Eve's skipped e-mail still moves her on (as the contract says), so she times out too, and is skipped again.
        Assert.Equal(3, report["nodes"]!["opened"]!["timedOut"]!.GetValue<int>());
        Assert.Equal(1, report["nodes"]!["opened"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(2, report["nodes"]!["followUp"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(1, report["nodes"]!["followUp"]!["skipped"]!.GetValue<int>());
        Assert.Equal(1, report["nodes"]!["thanks"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(4, report["instances"]!["completed"]!.GetValue<int>());
    }
}
