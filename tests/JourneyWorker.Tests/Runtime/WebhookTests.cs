using System.Net.Http.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Webhook nodes end to end: the real host calls a real receiver on loopback that checks the signature and the
/// Idempotency-Key; its JSON answer steers a later condition and fills a later e-mail; 503 + Retry-After comes due
/// again after the wait; a 400 takes errorNext; a name that resolves to loopback is refused unless listed itself.
/// </summary>
public sealed class WebhookTests
{
    private const string Profile = """{"identities": {"email": "p1@example.com"}, "attributes": {"n": 1, "name": "Ann \"A\"", "tag": "<b>&</b>"}, "testProfile": true}""";

    private static string Hook(WebhookReceiver receiver, string? errorNext = "fallback", string host = "127.0.0.1", string extra = "") =>
        new JsonObject
        {
            ["id"] = "hook", ["type"] = "webhook", ["method"] = "POST",
            ["url"] = $"http://{host}:{receiver.Port}/crm/{{{{profile.id}}}}?journey={{{{journey.name}}}}",
            ["headers"] = new JsonObject { ["X-Source"] = "journeyworker", ["X-Number"] = "n{{profile.n}}" },
            ["body"] = """{"name": {{profile.name | json}}, "n": {{profile.n}}, "tag": "{{profile.tag}}"}""",
            ["timeout"] = "PT10S", ["next"] = "c", ["errorNext"] = errorNext,
        }.ToJsonString() + extra;

    /// <summary>hook → condition on the answer → "gold" (an e-mail that quotes the answer) or "plain"; errorNext → "fallback".</summary>
    private static string[] Nodes(WebhookReceiver receiver, string? errorNext = "fallback", string host = "127.0.0.1") =>
    [
        Hook(receiver, errorNext, host),
        """{"id": "c", "type": "condition", "branches": [{"when": "webhooks.hook.tier = \"gold\" and webhooks.hook.nested.code = \"A-1\"", "next": "gold"}], "otherwise": "plain"}""",
        Mail("gold", subject: "Tier {{webhooks.hook.tier}}, {{webhooks.hook.points}} points"),
        Mail("plain", subject: "Plain"),
        Mail("fallback", subject: "Fallback"),
    ];

    private static async Task<(EngineHarness, WebhookReceiver)> StartAsync(params string[] allowed)
    {
        var receiver = await WebhookReceiver.StartAsync(Ct);
        var h = await EngineHarness.StartAsync(Ct, configure: app => WebhookReceiver.Allow(app, allowed.Length > 0 ? allowed : ["127.0.0.1"]));
        return (h, receiver);
    }

    private static async Task<(Guid Journey, JourneyInstance Instance)> RunAsync(EngineHarness h, params string[] nodes)
    {
        await h.ImportAsync(Profile, Ct);
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey("read", "", [Read(audience, "hook"), .. nodes]));
        Assert.Equal(1, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        await h.DrainAsync(Ct);
        return (journey, await SingleInstanceAsync(h, journey));
    }

    [Fact]
    public async Task A_signed_call_carries_the_rendered_request_and_its_answer_steers_a_condition_and_fills_an_email()
    {
        var (h, receiver) = await StartAsync();
        await using var _ = h;
        await using var __ = receiver;
        var (_, instance) = await RunAsync(h, Nodes(receiver));

        Assert.Empty(receiver.Problems);
        var call = Assert.Single(receiver.Calls);
        Assert.Equal(("POST", $"/crm/{instance.ProfileId}", "?journey=J"), (call.Method, call.Path, call.Query));
        Assert.Equal(($"{instance.Id}-hook", "journeyworker", "n1"), (call.IdempotencyKey, call.Headers["X-Source"], call.Headers["X-Number"]));
        Assert.Equal(h.App.Time.GetUtcNow().ToUnixTimeSeconds(), call.SignedAt);
        // The body is sent as rendered, not HTML-escaped; the json filter makes a JSON string of the name.
        Assert.StartsWith("application/json", call.ContentType, StringComparison.Ordinal);
        Assert.Contains("\"n\": 1, \"tag\": \"<b>&</b>\"}", call.Body, StringComparison.Ordinal);
        Assert.Equal("Ann \"A\"", JsonNode.Parse(call.Body)!["name"]!.GetValue<string>());

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("Tier gold, 42 points", mail.Message.Subject);
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal(["hook:entered", "hook:succeeded", "c:entered", "c:succeeded", "gold:entered", "gold:succeeded"], steps.Skip(2).Select(s => $"{s.Node}:{s.Outcome}"));
        Assert.StartsWith("HTTP 200: {\"tier\": \"gold\"", steps.Single(s => s is { Node: "hook", Outcome: StepOutcome.Succeeded }).Detail, StringComparison.Ordinal);

        await using var db = h.App.Db();
        var stored = await db.JourneyInstances.AsNoTracking().SingleAsync(i => i.Id == instance.Id, Ct);
        Assert.Equal(42, JsonNode.Parse(stored.Context)!["webhooks"]!["hook"]!["points"]!.GetValue<int>());
        var outbox = await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct);
        Assert.Equal(("webhook", OutboxStatus.Sent, 1), (outbox.Channel, outbox.Status, outbox.Attempts));
        var metrics = await h.App.WithKey(null).GetStringAsync("/metrics", Ct);
        Assert.Contains("journeyworker_sends_total{channel=\"webhook\",outcome=\"sent\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_503_with_Retry_After_comes_due_again_after_that_wait_and_the_retry_carries_the_same_Idempotency_Key()
    {
        var (h, receiver) = await StartAsync();
        await using var _ = h;
        await using var __ = receiver;
        receiver.ReplyNext(new WebhookReply(503, """{"error": "busy"}""", RetryAfter: "120"));
        var (journey, instance) = await RunAsync(h, Nodes(receiver));

        Assert.Equal((InstanceStatus.Active, "hook"), (instance.Status, instance.NodeId));
        Assert.Equal(h.App.Time.GetUtcNow().AddSeconds(120).ToUnixTimeMilliseconds(), instance.DueAt);
        await using (var db = h.App.Db())
        {
            var pending = await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct);
            Assert.Equal((OutboxStatus.Pending, 1), (pending.Status, pending.Attempts));
            Assert.Contains("HTTP 503", pending.Error, StringComparison.Ordinal);
        }

        h.Advance(TimeSpan.FromSeconds(119));
        Assert.Equal(0, await h.DrainAsync(Ct)); // not before Retry-After (longer than the first backoff)
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.DrainAsync(Ct));

        Assert.Empty(receiver.Problems);
        var calls = receiver.Calls;
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.Equal($"{instance.Id}-hook", c.IdempotencyKey));
        Assert.Equal(120, calls[1].SignedAt - calls[0].SignedAt);
        Assert.Equal("Tier gold, 42 points", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
        Assert.Equal(["hook:entered", "hook:succeeded", "c:entered", "c:succeeded"], (await TraceAsync(h, instance.Id))[2..6]);
        await using var after = h.App.Db();
        var outbox = await after.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct);
        Assert.Equal((OutboxStatus.Sent, 2), (outbox.Status, outbox.Attempts));
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }

    [Fact]
    public async Task A_call_cut_off_after_its_checkpoint_is_made_again_by_the_next_claim_with_the_same_Idempotency_Key()
    {
        var (h, receiver) = await StartAsync();
        await using var _ = h;
        await using var __ = receiver;
        receiver.ReplyNext(new WebhookReply(200, "", Hold: true));
        await h.ImportAsync(Profile, Ct);
        var (journey, version) = await PublishAsync(h, Journey("read", "", [Read(await AudienceAsync(h), "hook"), .. Nodes(receiver)]));
        Assert.Equal(1, await h.ReadAudienceAsync(version, testOnly: false, Ct));

        // The worker dies while the call is out: its outbox row is already durable, the outcome never written.
        using var crash = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var draining = h.DrainAsync(crash.Token);
        await receiver.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await using (var db = h.App.Db())
        {
            var checkpoint = await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct);
            Assert.Equal(("webhook", OutboxStatus.Pending, 1), (checkpoint.Channel, checkpoint.Status, checkpoint.Attempts));
        }
        await crash.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => draining);

        // Another claim once the lease has run out makes the call again, as the same call.
        h.Advance(h.App.Services.GetRequiredService<IOptions<RuntimeOptions>>().Value.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.DrainAsync(Ct));
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Empty(receiver.Problems);
        Assert.Equal([$"{instance.Id}-hook", $"{instance.Id}-hook"], receiver.Calls.Select(c => c.IdempotencyKey));
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["hook:entered", "hook:succeeded", "c:entered"], (await TraceAsync(h, instance.Id))[2..5]);
        await using var after = h.App.Db();
        var outbox = await after.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct);
        Assert.Equal((OutboxStatus.Sent, 2), (outbox.Status, outbox.Attempts));
    }

    [Fact]
    public async Task A_400_fails_at_once_and_takes_errorNext_with_the_answer_in_the_step()
    {
        var (h, receiver) = await StartAsync();
        await using var _ = h;
        await using var __ = receiver;
        receiver.ReplyNext(new WebhookReply(400, """{"error": "unknown customer"}"""));
        var (_, instance) = await RunAsync(h, Nodes(receiver));

        Assert.Single(receiver.Calls);
        Assert.Equal("Fallback", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal(["hook:entered", "hook:failed", "fallback:entered", "fallback:succeeded"], steps.Skip(2).Select(s => $"{s.Node}:{s.Outcome}"));
        Assert.Equal("HTTP 400: {\"error\": \"unknown customer\"}", steps.Single(s => s.Outcome == StepOutcome.Failed).Detail);
        await using var db = h.App.Db();
        var stored = await db.JourneyInstances.AsNoTracking().SingleAsync(i => i.Id == instance.Id, Ct);
        Assert.Equal(InstanceStatus.Completed, stored.Status);
        Assert.Null(JsonNode.Parse(stored.Context)!["webhooks"]); // a failed call's answer is not kept
        var outbox = await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct);
        Assert.Equal((OutboxStatus.Failed, 1), (outbox.Status, outbox.Attempts));
    }

    [Fact]
    public async Task A_name_resolving_to_loopback_is_refused_at_call_time_when_only_a_wildcard_allows_it()
    {
        // "*" allows any host name, so validation passes; "localhost" resolves to loopback and is not listed itself.
        var (h, receiver) = await StartAsync("*");
        await using var _ = h;
        await using var __ = receiver;
        var (_, instance) = await RunAsync(h, Nodes(receiver, errorNext: null, host: "localhost"));

        Assert.Empty(receiver.Calls);
        Assert.Empty(receiver.Problems);
        Assert.Equal((InstanceStatus.Failed, "sendFailed"), (instance.Status, instance.EndReason));
        var failed = (await StepsAsync(h.App, instance.Id)).Last();
        Assert.Equal(("hook", StepOutcome.Failed), (failed.Node, failed.Outcome));
        Assert.Contains("'localhost' resolves to", failed.Detail, StringComparison.Ordinal);
        await using var db = h.App.Db();
        Assert.Equal(1, (await db.OutboxMessages.AsNoTracking().SingleAsync(m => m.NodeId == "hook", Ct)).Attempts); // not retried
    }

    [Fact]
    public async Task A_host_listed_by_name_may_reach_loopback()
    {
        var (h, receiver) = await StartAsync("localhost");
        await using var _ = h;
        await using var __ = receiver;
        var (_, instance) = await RunAsync(h, Nodes(receiver, host: "localhost"));

        Assert.Empty(receiver.Problems);
        Assert.Equal($"{instance.Id}-hook", Assert.Single(receiver.Calls).IdempotencyKey);
        Assert.Equal(InstanceStatus.Completed, instance.Status);
    }

    [Fact]
    public async Task A_test_mode_run_really_calls()
    {
        var (h, receiver) = await StartAsync();
        await using var _ = h;
        await using var __ = receiver;
        await h.ImportAsync(Profile, Ct);
        var id = await CreateAsync(h, Journey("read", "", [Read(await AudienceAsync(h), "hook"), .. Nodes(receiver)]));
        await (await h.Client.PostAsJsonAsync($"/api/journeys/{id}/test", new { enabled = true, waitOverride = "PT5S" }, Ct)).OkAsync<JsonObject>();
        Assert.Equal(1, await h.ReadAudienceAsync(await VersionAsync(h, id, JourneyStatus.Draft), testOnly: true, Ct));
        await h.DrainAsync(Ct);

        var instance = await SingleInstanceAsync(h, id);
        Assert.True(instance.IsTest);
        Assert.Equal($"{instance.Id}-hook", Assert.Single(receiver.Calls).IdempotencyKey);
        Assert.Equal("Tier gold, 42 points", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
    }

    [Fact]
    public async Task Webhook_calls_are_never_capped_and_never_count_against_a_frequency_rule()
    {
        var (h, receiver) = await StartAsync();
        await using var _ = h;
        await using var __ = receiver;
        // One message of any channel per profile a month: the first e-mail fills it.
        await CapScenario.PutRulesAsync(h, """{"rules": [{"channel": "any", "max": 1, "per": "P30D"}]}""");
        var first = JsonNode.Parse(Hook(receiver, errorNext: null))!.AsObject();
        first["next"] = "m1";
        var second = JsonNode.Parse(Hook(receiver, errorNext: null))!.AsObject();
        (second["id"], second["next"]) = ("hook2", "m2");

        // hook → m1 (sent: the call before it did not count) → hook2 (called: the full cap does not hold it) → m2 (capped).
        var (_, instance) = await RunAsync(h, first.ToJsonString(), Mail("m1", next: "hook2", subject: "First"), second.ToJsonString(),
            Mail("m2", subject: "Second"));

        Assert.Empty(receiver.Problems);
        Assert.Equal([$"{instance.Id}-hook", $"{instance.Id}-hook2"], receiver.Calls.Select(c => c.IdempotencyKey));
        Assert.Equal("First", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
        Assert.Equal(["hook:entered", "hook:succeeded", "m1:entered", "m1:succeeded", "hook2:entered", "hook2:succeeded", "m2:entered", "m2:skipped"],
            (await TraceAsync(h, instance.Id)).Skip(2));
        await using var db = h.App.Db();
        Assert.Equal(2, await db.OutboxMessages.CountAsync(m => m.Channel == "webhook" && m.Status == OutboxStatus.Sent, Ct));
    }
}
