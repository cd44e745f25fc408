using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>Sends that finally fail (with and without errorNext) and transient failures retried with backoff.</summary>
public sealed class SendFailureTests
{
    [Fact]
    public async Task Final_failure_takes_errorNext()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        h.Smtp.ReplyNext(550, "no such mailbox");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m", errorNext: "fallback"), Mail("fallback", subject: "Fallback"));
        await h.DrainAsync(Ct);

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("Fallback", mail.Message.Subject);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:failed", "fallback:entered", "fallback:succeeded"], await TraceAsync(h, instance.Id));
        await using var db = h.App.Db();
        var outbox = await db.OutboxMessages.SingleAsync(m => m.NodeId == "m", Ct);
        Assert.Equal((OutboxStatus.Failed, 1), (outbox.Status, outbox.Attempts));
        Assert.Contains("550", outbox.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Final_failure_without_errorNext_fails_the_instance()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        h.Smtp.ReplyNext(550);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m", "after"), Mail("after"));
        await h.DrainAsync(Ct);

        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Failed, "sendFailed"), (instance.Status, instance.EndReason));
        Assert.Equal("m:failed", (await TraceAsync(h, instance.Id))[^1]);
        Assert.Empty(h.Smtp.Messages);
        Assert.Equal(1, h.Smtp.RejectedCount);
    }

    [Fact]
    public async Task Transient_failure_is_retried_after_the_backoff_then_succeeds_with_the_same_message_id()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        h.Smtp.ReplyNext(451, "try later");
        h.Smtp.ReplyNext(421, "busy");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));

        Assert.Equal(1, await h.DrainAsync(Ct));
        var waiting = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Active, "m"), (waiting.Status, waiting.NodeId));
        Assert.Equal(h.App.Time.GetUtcNow().Add(RetryPolicy.Backoff(1, null)).ToUnixTimeMilliseconds(), waiting.DueAt);

        h.Advance(RetryPolicy.Backoff(1, null) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await h.DrainAsync(Ct)); // not before the backoff
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.DrainAsync(Ct));
        h.Advance(RetryPolicy.Backoff(2, null));
        Assert.Equal(1, await h.DrainAsync(Ct));

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal(2, h.Smtp.RejectedCount);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
        await using var db = h.App.Db();
        var outbox = await db.OutboxMessages.SingleAsync(Ct);
        Assert.Equal((OutboxStatus.Sent, 3), (outbox.Status, outbox.Attempts));
        Assert.Equal(outbox.MessageId, mail.Message.MessageId);
    }

    [Fact]
    public async Task Transient_failures_give_up_after_the_last_attempt()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        for (var i = 0; i < RetryPolicy.MaxAttempts; i++)
        {
            h.Smtp.ReplyNext(451);
        }
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m", errorNext: "fallback"), Mail("fallback", subject: "Fallback"));
        for (var attempt = 1; attempt <= RetryPolicy.MaxAttempts; attempt++)
        {
            Assert.Equal(1, await h.DrainAsync(Ct));
            h.Advance(RetryPolicy.Backoff(attempt, null));
        }

        Assert.Equal("Fallback", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(["m:entered", "m:failed", "fallback:entered", "fallback:succeeded"], (await TraceAsync(h, instance.Id))[2..]);
    }
}
