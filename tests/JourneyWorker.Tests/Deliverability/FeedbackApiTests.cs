using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>POST /api/email-feedback (providers that post JSON) and the suppression list: GET, DELETE, forgetting a person.</summary>
public sealed class FeedbackApiTests
{
    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string json) =>
        await client.PostAsync("/api/email-feedback", new StringContent(json, Encoding.UTF8, "application/json"), Ct);

    private static async Task<JsonNode> FeedbackAsync(EngineHarness h, string json)
    {
        var response = await PostAsync(h.Client, json);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!;
    }

    private static IEnumerable<string> ErrorKeys(Microsoft.AspNetCore.Mvc.ProblemDetails problem) =>
        problem.Extensions.TryGetValue("errors", out var errors) && errors is JsonElement e && e.ValueKind == JsonValueKind.Object
            ? e.EnumerateObject().Select(p => p.Name).ToList()
            : [];

    [Fact]
    public async Task Bad_reports_are_refused_naming_the_field_and_the_routes_need_the_admin_key()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        foreach (var (json, field) in new[]
        {
            ("""{"address": "ann@example.com"}""", "type"),
            ("""{"type": "delivered", "address": "ann@example.com"}""", "type"),
            ("""{"type": "bounce", "address": "ann@example.com"}""", "bounceType"),
            ("""{"type": "bounce", "bounceType": "permanent", "address": "ann@example.com"}""", "bounceType"),
            ("""{"type": "complaint", "bounceType": "hard", "address": "ann@example.com"}""", "bounceType"),
            ("""{"type": "complaint"}""", "address"),
            ("""{"type": "complaint", "address": "Ann <ann@example.com>, bob@example.com"}""", "address"),
            ("""{"type": "complaint", "messageId": "has spaces@x"}""", "messageId"),
            ("""{"type": "bounce", "bounceType": "hard", "address": "ann@example.com", "status": "550"}""", "status"),
        })
        {
            var problem = await (await PostAsync(h.Client, json)).ProblemAsync(400);
            Assert.True(ErrorKeys(problem).Contains(field), $"{json}: expected an error for '{field}', got {string.Join(", ", ErrorKeys(problem))}");
        }
        await (await PostAsync(h.Client, "{not json")).ProblemAsync(400);
        await (await h.Client.GetAsync("/api/suppressions?limit=0", Ct)).ProblemAsync(400);
        await (await h.Client.DeleteAsync("/api/suppressions/not-an-address", Ct)).ProblemAsync(400);

        var anonymous = h.App.WithKey(null);
        await (await PostAsync(anonymous, """{"type": "complaint", "address": "ann@example.com"}""")).ProblemAsync(401);
        await (await h.App.Ingest().GetAsync("/api/suppressions", Ct)).ProblemAsync(401);
        await (await anonymous.DeleteAsync("/api/suppressions/ann@example.com", Ct)).ProblemAsync(401);
        await using var db = h.App.Db();
        Assert.Empty(db.EmailSuppressions);
    }

    [Fact]
    public async Task A_posted_hard_bounce_suppresses_until_the_suppression_is_lifted()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var result = await FeedbackAsync(h, $$"""{"type": "bounce", "bounceType": "hard", "address": " P1@Example.com ", "status": "5.1.1"}""");
        Assert.Equal((Email(1), true, "hardBounce", false), ((string)result["address"]!, (bool)result["suppressed"]!, (string?)result["reason"], (bool)result["messageFound"]!));

        var list = JsonNode.Parse(await h.Client.GetStringAsync("/api/suppressions", Ct))!.AsArray();
        var entry = Assert.Single(list)!;
        Assert.Equal((Email(1), "hardBounce", "5.1.1"), ((string?)entry["address"], (string)entry["reason"]!, (string?)entry["detail"]));
        Assert.Equal(h.App.Time.GetUtcNow().UtcDateTime, entry["at"]!.GetValue<DateTime>().ToUniversalTime());
        Assert.Equal("hardBounce", (string?)JsonNode.Parse(await h.Client.GetStringAsync($"/api/suppressions/{Email(1)}", Ct))!["reason"]);

        var (journey, _) = await StartReadAudienceAsync(h, 2, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        Assert.Equal([Email(2)], (await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Select(m => m.To.Single()));
        Assert.Equal(InstanceStatus.Completed, (await InstancesAsync(h, journey))[0].Status);

        Assert.Equal(HttpStatusCode.NoContent, (await h.Client.DeleteAsync($"/api/suppressions/{Email(1)}", Ct)).StatusCode);
        await (await h.Client.DeleteAsync($"/api/suppressions/{Email(1)}", Ct)).ProblemAsync(404);
        await (await h.Client.GetAsync($"/api/suppressions/{Email(1)}", Ct)).ProblemAsync(404);
        var audience = await AudienceAsync(h);
        var (_, version) = await PublishAsync(h, Journey("read", "", Read(audience, "n"), Mail("n")));
        await h.ReadAudienceAsync(version, testOnly: false, Ct);
        await h.DrainAsync(Ct);
        Assert.Contains(Email(1), (await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct)).Skip(1).Select(m => m.To.Single()));
    }

    [Fact]
    public async Task A_complaint_by_Message_ID_finds_the_address_and_counts_on_the_node_and_soft_bounces_need_the_limit()
    {
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.With("Email:Bounces:SoftLimit", "2"));
        var (journey, _) = await StartReadAudienceAsync(h, 2, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        var mails = await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        var toP1 = mails.Single(m => m.To.Single() == Email(1)).Message.MessageId;

        var complaint = await FeedbackAsync(h, $$"""{"type": "complaint", "messageId": "<{{toP1}}>"}""");
        Assert.Equal((Email(1), true, "complaint", true), ((string)complaint["address"]!, (bool)complaint["suppressed"]!, (string?)complaint["reason"], (bool)complaint["messageFound"]!));
        // The same complaint posted again (a provider's retry) changes nothing.
        await FeedbackAsync(h, $$"""{"type": "complaint", "messageId": "{{toP1}}"}""");
        var node = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journey}/report", Ct))!["nodes"]!["m"]!;
        Assert.Equal((0, 1), ((int)node["bounced"]!, (int)node["complained"]!));

        await (await PostAsync(h.Client, """{"type": "complaint", "messageId": "nobody.1.m@localhost"}""")).ProblemAsync(404);

        // Soft bounces by address: the second within seven days suppresses.
        Assert.False((bool)(await FeedbackAsync(h, $$"""{"type": "bounce", "bounceType": "soft", "address": "{{Email(2)}}"}"""))["suppressed"]!);
        h.Advance(TimeSpan.FromDays(6));
        var second = await FeedbackAsync(h, $$"""{"type": "bounce", "bounceType": "soft", "address": "{{Email(2)}}", "status": "4.2.2"}""");
        Assert.Equal((true, "softBounces"), ((bool)second["suppressed"]!, (string?)second["reason"]));
        Assert.Equal(2, JsonNode.Parse(await h.Client.GetStringAsync("/api/suppressions", Ct))!.AsArray().Count);

        // Lifting it forgets the soft bounces: the next one alone does not suppress again.
        Assert.Equal(HttpStatusCode.NoContent, (await h.Client.DeleteAsync($"/api/suppressions/{Email(2)}", Ct)).StatusCode);
        Assert.False((bool)(await FeedbackAsync(h, $$"""{"type": "bounce", "bounceType": "soft", "address": "{{Email(2)}}"}"""))["suppressed"]!);
    }

    [Fact]
    public async Task Forgetting_a_person_keeps_their_address_suppressed_by_hash_only()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        await FeedbackAsync(h, $$"""{"type": "complaint", "address": "{{Email(1)}}"}""");

        Assert.Equal(HttpStatusCode.NoContent, (await h.Client.DeleteAsync($"/api/profiles/email/{Email(1)}", Ct)).StatusCode);
        var entry = Assert.Single(JsonNode.Parse(await h.Client.GetStringAsync("/api/suppressions", Ct))!.AsArray())!;
        Assert.Equal((null, "complaint"), ((string?)entry["address"], (string)entry["reason"]!));
        await using (var db = h.App.Db())
        {
            Assert.DoesNotContain(db.EmailSuppressions.AsEnumerable(), s => s.Address is not null || (s.Detail ?? "").Contains(Email(1), StringComparison.Ordinal));
        }

        // The person comes back: still not mailed, and a lookup by the address still finds the entry.
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        Assert.Empty(h.Smtp.Messages);
        Assert.Equal(StepOutcome.Skipped, (await StepsAsync(h.App, (await SingleInstanceAsync(h, journey)).Id)).Single(s => s.Node == "m" && s.Outcome != StepOutcome.Entered).Outcome);
        Assert.Equal(HttpStatusCode.OK, (await h.Client.GetAsync($"/api/suppressions/{Email(1)}", Ct)).StatusCode);
    }
}
