using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tracking;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Tracking;

/// <summary>Open pixel, click redirects and one-click unsubscribe, tried as a mail client and a mail provider would: plain HTTP, no key.</summary>
public sealed partial class EmailTrackingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Links = """
        <p>See <a href=\"https://shop.example.com/new?a=1&amp;b=2\">what is new</a>, <a href='http://example.org/p'>this</a>
        or <a href=\"mailto:help@example.com\">write to us</a>.</p>
        """;

    private static string WaitFor(string reaction) => $$"""
        { "id": "m", "type": "email", "subject": "Hello", "html": "{{Links.ReplaceLineEndings(" ")}}", "next": "r" },
        { "id": "r", "type": "reaction", "action": "m", "reaction": "{{reaction}}", "next": "done", "timeout": "P1D", "timeoutNext": "late" },
        { "id": "done", "type": "end" },
        { "id": "late", "type": "end" }
        """;

    [Fact]
    public async Task Open_pixel_answers_a_gif_counts_one_open_and_resumes_the_waiting_reaction()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com"), "m", WaitFor("emailOpened"), Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("waiting", (await s.InstanceAsync("ann@example.com", Ct))["status"]!.GetValue<string>());

        var client = s.Anonymous();
        for (var i = 0; i < 2; i++)
        {
            var pixel = await client.GetAsync(EngineHarness.PixelPath(mail), Ct);
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
            Assert.Equal("image/gif", pixel.Content.Headers.ContentType?.MediaType);
            Assert.True(pixel.Headers.CacheControl?.NoStore, $"Cache-Control was '{pixel.Headers.CacheControl}'");
            Assert.StartsWith("GIF89a", System.Text.Encoding.ASCII.GetString(await pixel.Content.ReadAsByteArrayAsync(Ct))[..6], StringComparison.Ordinal);
        }
        await h.DrainAsync(Ct);

        await using (var db = h.App.Db())
        {
            Assert.Single(db.MessageReactions.Where(r => r.Kind == "emailOpened"));
        }
        var instance = await s.InstanceAsync("ann@example.com", Ct);
        Assert.Equal("completed", instance["status"]!.GetValue<string>());
        Assert.Contains(("r", "succeeded"), TrackingScenario.Steps(instance).Select(x => (x.Node, x.Outcome)));
        Assert.DoesNotContain(TrackingScenario.Steps(instance), x => x.Node == "late");
        var report = await s.ReportAsync(Ct);
        Assert.Equal(1, TrackingScenario.Count(report, "r", "succeeded"));
        Assert.Equal(0, TrackingScenario.Count(report, "r", "timedOut"));
        Assert.Contains(TrackingScenario.Steps(instance), x => x.Node == "done");
    }

    [Fact]
    public async Task Links_are_rewritten_redirect_only_to_what_the_message_contained_and_a_click_resumes_the_reaction()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com"), "m", WaitFor("emailClicked"), Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        var html = mail.Message.HtmlBody!;

        // Both web links point at /t/c/ now; the original URLs are kept on the server only; mailto: is untouched.
        var clicks = ClickLink().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, clicks.Count);
        Assert.DoesNotContain("shop.example.com", html, StringComparison.Ordinal);
        Assert.DoesNotContain("example.org", html, StringComparison.Ordinal);
        Assert.Contains("href=\"mailto:help@example.com\"", html, StringComparison.Ordinal);

        var client = s.Anonymous();
        var first = await client.GetAsync(clicks[0], Ct);
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.Equal("https://shop.example.com/new?a=1&b=2", first.Headers.Location!.ToString());
        var second = await client.GetAsync(clicks[1], Ct);
        Assert.Equal(HttpStatusCode.Redirect, second.StatusCode);
        Assert.Equal("http://example.org/p", second.Headers.Location!.ToString());

        // A correctly signed token for a link this message did not contain leads nowhere.
        long outboxId;
        await using (var db = h.App.Db())
        {
            outboxId = db.OutboxMessages.Single().Id;
        }
        var tokens = h.App.Services.GetRequiredService<TrackingTokens>();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/t/c/{tokens.Create(TrackingKind.Click, outboxId, 2)}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/t/c/{tokens.Create(TrackingKind.Click, outboxId, -1)}", Ct)).StatusCode);

        await h.DrainAsync(Ct);
        await using (var db = h.App.Db())
        {
            Assert.Single(db.MessageReactions.Where(r => r.Kind == "emailClicked"));
        }
        var instance = await s.InstanceAsync("ann@example.com", Ct);
        Assert.Equal("completed", instance["status"]!.GetValue<string>());
        Assert.Contains(("r", "succeeded"), TrackingScenario.Steps(instance).Select(x => (x.Node, x.Outcome)));
    }

    [Fact]
    public async Task One_click_unsubscribe_GET_changes_nothing_POST_withdraws_consent_and_the_profile_is_never_mailed_again()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com"), "m", """
            { "id": "m", "type": "email", "subject": "Hello", "html": "<p>Hi</p>", "next": "w" },
            { "id": "w", "type": "wait", "duration": "P1D", "next": "m2" },
            { "id": "m2", "type": "email", "subject": "Again", "html": "<p>Hi again</p>" }
            """, Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));

        Assert.Equal("List-Unsubscribe=One-Click", mail.Message.Headers["List-Unsubscribe-Post"]);
        var header = UnsubscribeHeader().Match(mail.Message.Headers["List-Unsubscribe"] ?? "");
        Assert.True(header.Success, $"List-Unsubscribe was '{mail.Message.Headers["List-Unsubscribe"]}'");
        var path = header.Groups[1].Value;

        // Mail software and link scanners fetch header links by themselves: GET only shows a confirm form.
        var client = s.Anonymous();
        var page = await client.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var body = await page.Content.ReadAsStringAsync(Ct);
        // The form posts back to this very URL (relative action: the token itself).
        Assert.Contains($"<form method=\"post\" action=\"{path["/t/u/".Length..]}\">", body, StringComparison.Ordinal);
        Assert.True(await ConsentEmailAsync(h));

        // RFC 8058: the provider POSTs List-Unsubscribe=One-Click as a form.
        var post = await client.PostAsync(path, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]), Ct);
        Assert.True(post.IsSuccessStatusCode, $"POST {path}: {(int)post.StatusCode}");
        Assert.False(await ConsentEmailAsync(h));

        h.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await h.DrainAsync(Ct);
        Assert.Single(h.Smtp.Messages);
        var instance = await s.InstanceAsync("ann@example.com", Ct);
        var skipped = Assert.Single(TrackingScenario.Steps(instance), x => x.Node == "m2" && x.Outcome == "skipped");
        Assert.Contains("consent", skipped.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, TrackingScenario.Count(await s.ReportAsync(Ct), "m2", "skipped"));
        await using var db = h.App.Db();
        Assert.Contains("consent", db.OutboxMessages.Single(m => m.NodeId == "m2").Error, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<bool> ConsentEmailAsync(EngineHarness h) =>
        JsonNode.Parse(await h.Client.GetStringAsync("/api/profiles/email/ann@example.com", Ct))!["consent"]!["email"]!.GetValue<bool>();

    [GeneratedRegex("href=[\"']http://journeys\\.test(/t/c/[A-Za-z0-9_-]+)[\"']")]
    private static partial Regex ClickLink();

    [GeneratedRegex("^<http://journeys\\.test(/t/u/[A-Za-z0-9_-]+)>$")]
    private static partial Regex UnsubscribeHeader();
}
