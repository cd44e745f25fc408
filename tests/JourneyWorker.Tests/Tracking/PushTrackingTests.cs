using System.Net;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Tracking;

/// <summary>Push tracking and the push channel's failure handling, through the host and the loopback FCM endpoint.</summary>
public sealed class PushTrackingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string WithTokens(params string[] tokens) =>
        $", \"pushTokens\": [{string.Join(", ", tokens.Select(t => $"{{\"token\": \"{t}\", \"platform\": \"android\"}}"))}]";

    [Fact]
    public async Task Each_push_carries_its_open_url_and_a_POST_there_records_one_open_and_resumes_the_reaction()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com", extra: WithTokens("ann-phone")), "p", """
            { "id": "p", "type": "push", "title": "Hi {{profile.person.name.firstName}}", "body": "News", "next": "r" },
            { "id": "r", "type": "reaction", "action": "p", "reaction": "pushOpened", "next": "done", "timeout": "P1D", "timeoutNext": "late" },
            { "id": "done", "type": "end" },
            { "id": "late", "type": "end" }
            """, Ct);

        var push = Assert.Single(h.Fcm.Messages);
        Assert.Equal("ann-phone", push.Token);
        var token = push.Message["data"]!["trackingToken"]!.GetValue<string>();
        var openUrl = push.Message["data"]!["openUrl"]!.GetValue<string>();
        Assert.Equal($"http://journeys.test/t/p/{token}", openUrl);
        Assert.Equal("waiting", (await s.InstanceAsync("ann@example.com", Ct))["status"]!.GetValue<string>());

        var client = s.Anonymous();
        for (var i = 0; i < 2; i++)
        {
            var open = await client.PostAsync(new Uri(openUrl).AbsolutePath, null, Ct);
            Assert.Equal(HttpStatusCode.NoContent, open.StatusCode);
        }
        await h.DrainAsync(Ct);

        await using (var db = h.App.Db())
        {
            Assert.Single(db.MessageReactions.Where(r => r.Kind == "pushOpened"));
        }
        var instance = await s.InstanceAsync("ann@example.com", Ct);
        Assert.Equal("completed", instance["status"]!.GetValue<string>());
        Assert.Contains(TrackingScenario.Steps(instance), x => x.Node == "done");
        Assert.Equal(1, TrackingScenario.Count(await s.ReportAsync(Ct), "r", "succeeded"));
    }

    [Fact]
    public async Task An_unregistered_device_token_is_retired_shown_inactive_and_never_used_again()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        h.Fcm.ReplyNext(FcmReply.Unregistered());
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com", extra: WithTokens("phone-a", "phone-b")), "p1", """
            { "id": "p1", "type": "push", "title": "One", "body": "First", "next": "w" },
            { "id": "w", "type": "wait", "duration": "P1D", "next": "p2" },
            { "id": "p2", "type": "push", "title": "Two", "body": "Second" }
            """, Ct);

        // One device said UNREGISTERED, the other got the push: the node succeeded.
        var live = Assert.Single(h.Fcm.Messages).Token;
        var dead = live == "phone-a" ? "phone-b" : "phone-a";
        await using (var db = h.App.Db())
        {
            Assert.NotNull(db.PushTokens.Single(t => t.Token == dead).RetiredAt);
            Assert.Null(db.PushTokens.Single(t => t.Token == live).RetiredAt);
        }
        var profile = JsonNode.Parse(await h.Client.GetStringAsync("/api/profiles/email/ann@example.com", Ct))!;
        var active = profile["pushTokens"]!.AsArray().ToDictionary(t => t!["token"]!.GetValue<string>(), t => t!["active"]!.GetValue<bool>());
        Assert.False(active[dead]);
        Assert.True(active[live]);

        // The CRM syncs the profile again with both tokens: the dead one stays retired.
        await h.ImportAsync(TrackingScenario.Person("ann@example.com", extra: WithTokens("phone-a", "phone-b")), Ct);
        h.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await h.DrainAsync(Ct);
        Assert.Equal([live, live], h.Fcm.Messages.Select(m => m.Token));
        Assert.Equal("completed", (await s.InstanceAsync("ann@example.com", Ct))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_no_live_token_left_the_push_takes_errorNext_and_without_one_the_instance_fails()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        h.Fcm.ReplyNext(FcmReply.Unregistered());
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com", extra: WithTokens("only-phone")), "p1", """
            { "id": "p1", "type": "push", "title": "One", "body": "First", "next": "done", "errorNext": "p2" },
            { "id": "p2", "type": "push", "title": "Two", "body": "Second", "next": "done" },
            { "id": "done", "type": "end" }
            """, Ct);

        Assert.Empty(h.Fcm.Messages);
        var instance = await s.InstanceAsync("ann@example.com", Ct);
        var steps = TrackingScenario.Steps(instance).ToList();
        Assert.Contains(steps, x => x.Node == "p1" && x.Outcome == "failed");
        // p2 had no live token to try: it failed without a request, and with no errorNext the instance failed.
        var p2 = Assert.Single(steps, x => x.Node == "p2" && x.Outcome == "failed");
        Assert.Contains("token", p2.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(steps, x => x.Node == "done");
        Assert.Equal("failed", instance["status"]!.GetValue<string>());
        var report = await s.ReportAsync(Ct);
        Assert.Equal(1, TrackingScenario.Count(report, "p1", "failed"));
        Assert.Equal(1, TrackingScenario.Count(report, "p2", "failed"));
        await using var db = h.App.Db();
        Assert.NotNull(db.PushTokens.Single(t => t.Token == "only-phone").RetiredAt);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_429_with_Retry_After_brings_the_instance_due_no_earlier_than_asked_and_then_the_push_goes_out(bool asDate)
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        // Retry-After as delta-seconds or as an HTTP-date (RFC 9110), both 120 s from now on the host's clock.
        h.Fcm.ReplyNext(FcmReply.TooManyRequests(asDate
            ? (h.App.Time.GetUtcNow() + TimeSpan.FromSeconds(120)).ToString("R", System.Globalization.CultureInfo.InvariantCulture)
            : "120"));
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com", extra: WithTokens("ann-phone")), "p", """
            { "id": "p", "type": "push", "title": "One", "body": "First" }
            """, Ct);
        var refusedAt = h.App.Time.GetUtcNow();

        Assert.Empty(h.Fcm.Messages);
        await using (var db = h.App.Db())
        {
            var row = db.JourneyInstances.Single();
            Assert.Equal("active", row.Status);
            Assert.True(row.DueAt >= (refusedAt + TimeSpan.FromSeconds(120)).ToUnixTimeMilliseconds(),
                $"Due at {DateTimeOffset.FromUnixTimeMilliseconds(row.DueAt!.Value):O}, refused at {refusedAt:O}");
            Assert.Equal(1, db.OutboxMessages.Single().Attempts);
        }

        // Not yet: a drain just before Retry-After runs out sends nothing.
        h.Advance(TimeSpan.FromSeconds(119));
        await h.DrainAsync(Ct);
        Assert.Empty(h.Fcm.Messages);

        h.Advance(TimeSpan.FromSeconds(2));
        await h.DrainAsync(Ct);
        Assert.Equal("ann-phone", Assert.Single(h.Fcm.Messages).Token);
        Assert.Equal("completed", (await s.InstanceAsync("ann@example.com", Ct))["status"]!.GetValue<string>());
        await using (var db = h.App.Db())
        {
            var outbox = db.OutboxMessages.Single();
            Assert.Equal("sent", outbox.Status);
            Assert.Equal(2, outbox.Attempts);
        }
    }
}
