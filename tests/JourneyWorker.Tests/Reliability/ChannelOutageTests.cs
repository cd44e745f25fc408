using System.Globalization;
using System.Text;
using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Reliability;

/// <summary>
/// Faults survived, channel side: the SMTP server gone for minutes and back on the same port, FCM answering a storm of
/// 503 and 429. Every failed attempt is a durable retry on the backoff (30 s, 60 s, 120 s…, never sooner than
/// Retry-After); after recovery each profile gets its message exactly once and its journey goes on. Both providers.
/// </summary>
public sealed class ChannelOutageTests
{
    private const int Profiles = 10;

    [Fact]
    public async Task Smtp_down_for_minutes_then_back_every_profile_gets_each_message_once_and_the_journey_goes_on()
    {
        var sink = await SmtpSink.StartAsync(cancellationToken: Ct);
        var port = sink.Port;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.With("Email:Smtp:Port", port.ToString(CultureInfo.InvariantCulture)));
        try
        {
            var (journey, _) = await StartReadAudienceAsync(h, Profiles, "m", "", Mail("m", "after", subject: "First"), Mail("after", subject: "After"));

            // The server goes away before the first send: every connection attempt is refused.
            await sink.DisposeAsync();
            var start = h.App.Time.GetUtcNow();

            // Down: three rounds of connection refused, each rescheduled on the backoff (30 s, 60 s, 120 s).
            for (var attempt = 1; attempt <= 3; attempt++)
            {
                Assert.Equal(Profiles, await h.DrainAsync(Ct));
                var waiting = await InstancesAsync(h, journey);
                var expectedDue = h.App.Time.GetUtcNow().Add(RetryPolicy.Backoff(attempt, null)).ToUnixTimeMilliseconds();
                Assert.All(waiting, i => Assert.Equal((InstanceStatus.Active, "m", expectedDue), (i.Status, i.NodeId, i.DueAt)));
                h.Advance(RetryPolicy.Backoff(attempt, null) - TimeSpan.FromSeconds(1));
                Assert.Equal(0, await h.DrainAsync(Ct)); // nothing retries before its backoff
                h.Advance(TimeSpan.FromSeconds(1));
            }
            Assert.Equal(TimeSpan.FromSeconds(210), h.App.Time.GetUtcNow() - start);
            await using (var db = h.App.Db())
            {
                var pending = await db.OutboxMessages.AsNoTracking().ToListAsync(Ct);
                Assert.Equal(Profiles, pending.Count);
                Assert.All(pending, m => Assert.Equal((OutboxStatus.Pending, 3), (m.Status, m.Attempts)));
                Assert.All(pending, m => Assert.StartsWith("SMTP connection problem", m.Error, StringComparison.Ordinal));
            }

            // Back, on the same port: the fourth attempt delivers, and the journey goes on to its next message.
            sink = await SmtpSink.StartOnPortAsync(port, Ct);
            Assert.Equal(Profiles, await h.DrainAsync(Ct));
            var mails = await sink.WaitForMessagesAsync(2 * Profiles, cancellationToken: Ct);
            await h.DrainAsync(Ct);
            Assert.Equal(2 * Profiles, sink.Messages.Count);

            Assert.Equal(2 * Profiles, mails.Select(m => m.Message.MessageId).Distinct().Count());
            foreach (var n in Enumerable.Range(1, Profiles))
            {
                var theirs = mails.Where(m => m.To.Single() == Email(n)).Select(m => m.Message.Subject).Order(StringComparer.Ordinal);
                Assert.Equal(["After", "First"], theirs);
            }
            await using var check = h.App.Db();
            var outbox = await check.OutboxMessages.AsNoTracking().ToListAsync(Ct);
            Assert.Equal(mails.Select(m => m.Message.MessageId).Order(StringComparer.Ordinal), outbox.Select(m => m.MessageId).Order(StringComparer.Ordinal));
            Assert.All(outbox.Where(m => m.NodeId == "m"), m => Assert.Equal((OutboxStatus.Sent, 4), (m.Status, m.Attempts)));
            Assert.All(outbox.Where(m => m.NodeId == "after"), m => Assert.Equal((OutboxStatus.Sent, 1), (m.Status, m.Attempts)));
            Assert.All(await InstancesAsync(h, journey), i => Assert.Equal(InstanceStatus.Completed, i.Status));
        }
        finally
        {
            await sink.DisposeAsync();
        }
    }

    [Fact]
    public async Task Fcm_storm_of_503_and_429_retries_on_backoff_honouring_Retry_After_and_sends_each_push_once()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var profiles = new StringBuilder();
        foreach (var n in Enumerable.Range(1, Profiles))
        {
            profiles.Append(CultureInfo.InvariantCulture,
                $$"""{"identities": {"email": "{{Email(n)}}"}, "attributes": {"n": {{n}}, "name": "P{{n}}"}, "pushTokens": [{"token": "phone-{{n}}", "platform": "android"}]}""").Append('\n');
        }
        await h.ImportAsync(profiles.ToString(), Ct);
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey("read", "",
            Read(audience, "p"),
            """{"id": "p", "type": "push", "title": "Hi {{profile.name}}", "body": "News", "next": "after"}""",
            Mail("after", subject: "After the push")));
        Assert.Equal(Profiles, await h.ReadAudienceAsync(version, testOnly: false, Ct));

        // The storm: every push of the first round gets 503 (no Retry-After: 30 s backoff), every one of the second
        // 429 asking for 5 minutes (longer than the 60 s backoff: the header wins), then half of the third 503 again.
        for (var i = 0; i < Profiles; i++)
        {
            h.Fcm.ReplyNext(Unavailable());
        }
        Assert.Equal(Profiles, await h.DrainAsync(Ct));
        await AssertAllDueInAsync(h, journey, RetryPolicy.Backoff(1, null));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryPolicy.Backoff(1, null));

        for (var i = 0; i < Profiles; i++)
        {
            h.Fcm.ReplyNext(FcmReply.TooManyRequests("300"));
        }
        h.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(Profiles, await h.DrainAsync(Ct));
        await AssertAllDueInAsync(h, journey, TimeSpan.FromMinutes(5));

        for (var i = 0; i < Profiles / 2; i++)
        {
            h.Fcm.ReplyNext(Unavailable());
        }
        h.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await h.DrainAsync(Ct)); // Retry-After is honoured to the second
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Profiles, await h.DrainAsync(Ct));
        Assert.Equal(Profiles / 2, h.Fcm.Messages.Count);

        h.Advance(RetryPolicy.Backoff(3, null));
        Assert.Equal(Profiles / 2, await h.DrainAsync(Ct));

        // Each token got its push exactly once; the journey went on to the e-mail for everyone.
        Assert.Equal(Enumerable.Range(1, Profiles).Select(n => $"phone-{n}").Order(StringComparer.Ordinal),
            h.Fcm.Messages.Select(m => m.Token).Order(StringComparer.Ordinal));
        var mails = await h.Smtp.WaitForMessagesAsync(Profiles, cancellationToken: Ct);
        Assert.Equal(Profiles, mails.Select(m => m.To.Single()).Distinct().Count());
        await using var db = h.App.Db();
        var pushes = await db.OutboxMessages.AsNoTracking().Where(m => m.NodeId == "p").ToListAsync(Ct);
        Assert.All(pushes, m => Assert.Equal(OutboxStatus.Sent, m.Status));
        Assert.Equal([3, 3, 3, 3, 3, 4, 4, 4, 4, 4], pushes.Select(m => m.Attempts).Order());
        Assert.All(await InstancesAsync(h, journey), i => Assert.Equal(InstanceStatus.Completed, i.Status));
    }

    private static FcmReply Unavailable() => new(503, """{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}""");

    private static async Task AssertAllDueInAsync(EngineHarness h, Guid journey, TimeSpan wait)
    {
        var due = h.App.Time.GetUtcNow().Add(wait).ToUnixTimeMilliseconds();
        Assert.All(await InstancesAsync(h, journey), i => Assert.Equal((InstanceStatus.Active, "p", due), (i.Status, i.NodeId, i.DueAt)));
    }
}
