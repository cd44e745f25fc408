using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Tracking;

namespace JourneyWorker.Tests.Channels;

/// <summary>Consent suppression, escaping of profile data and the stable Message-ID, seen from the SMTP server and FCM.</summary>
public sealed class ConsentAndMessageIdTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string Phone = """, "pushTokens": [{"token": "{0}-phone", "platform": "android"}]""";

    [Fact]
    public async Task Withdrawn_consent_skips_that_channel_with_the_reason_and_the_instance_goes_on()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var profiles = string.Join('\n',
            TrackingScenario.Person("eve@example.com", "Eve", Phone.Replace("{0}", "eve", StringComparison.Ordinal) + """, "consent": {"email": false, "push": true}"""),
            TrackingScenario.Person("fay@example.com", "Fay", Phone.Replace("{0}", "fay", StringComparison.Ordinal) + """, "consent": {"email": true, "push": false}"""));
        var s = await TrackingScenario.StartAsync(h, profiles, "m", """
            { "id": "m", "type": "email", "subject": "Hello", "html": "<p>Hi</p>", "next": "p" },
            { "id": "p", "type": "push", "title": "Hi", "body": "There", "next": "done" },
            { "id": "done", "type": "end" }
            """, Ct);

        Assert.Equal(["fay@example.com"], (await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).SelectMany(m => m.To));
        Assert.Equal(["eve-phone"], h.Fcm.Messages.Select(m => m.Token));

        var eve = await s.InstanceAsync("eve@example.com", Ct);
        Assert.Equal("completed", eve["status"]!.GetValue<string>());
        var eveSkipped = Assert.Single(TrackingScenario.Steps(eve), x => x.Outcome == "skipped");
        Assert.Equal("m", eveSkipped.Node);
        Assert.Contains("consent", eveSkipped.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(TrackingScenario.Steps(eve), x => x.Node == "p" && x.Outcome == "succeeded");

        var fay = await s.InstanceAsync("fay@example.com", Ct);
        Assert.Equal("completed", fay["status"]!.GetValue<string>());
        var faySkipped = Assert.Single(TrackingScenario.Steps(fay), x => x.Outcome == "skipped");
        Assert.Equal("p", faySkipped.Node);
        Assert.Contains("consent", faySkipped.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(TrackingScenario.Steps(fay), x => x.Node == "done");

        var report = await s.ReportAsync(Ct);
        Assert.Equal(1, TrackingScenario.Count(report, "m", "skipped"));
        Assert.Equal(1, TrackingScenario.Count(report, "m", "succeeded"));
        Assert.Equal(1, TrackingScenario.Count(report, "p", "skipped"));
        Assert.Equal(1, TrackingScenario.Count(report, "p", "succeeded"));
        Assert.Equal(2, report["instances"]!["completed"]!.GetValue<int>());
    }

    [Fact]
    public async Task Profile_data_is_escaped_in_the_HTML_part_and_plain_in_the_subject_and_the_push()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com", "<script>alert(1)</script>", Phone.Replace("{0}", "ann", StringComparison.Ordinal)), "m", """
            { "id": "m", "type": "email", "subject": "Hello {{profile.person.name.firstName}}", "html": "<p>Hi {{profile.person.name.firstName}}</p>", "next": "p" },
            { "id": "p", "type": "push", "title": "Hi {{profile.person.name.firstName}}", "body": "x" }
            """, Ct);

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message;
        Assert.Equal("Hello <script>alert(1)</script>", mail.Subject);
        Assert.Contains("<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>", mail.HtmlBody, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", mail.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("Hi <script>alert(1)</script>", Assert.Single(h.Fcm.Messages).Message["notification"]!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_retried_email_keeps_the_Message_ID_it_was_given_before_the_first_attempt()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        h.Smtp.ReplyNext(451, "4.3.0 try again later");
        await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com"), "m", """
            { "id": "m", "type": "email", "subject": "Hello", "html": "<p>Hi</p>" }
            """, Ct);

        Assert.Equal(1, h.Smtp.RejectedCount);
        Assert.Empty(h.Smtp.Messages);
        string messageId;
        await using (var db = h.App.Db())
        {
            var outbox = db.OutboxMessages.Single();
            Assert.Equal("pending", outbox.Status);
            Assert.Equal(1, outbox.Attempts);
            Assert.Contains("451", outbox.Error, StringComparison.Ordinal);
            messageId = outbox.MessageId;
            var instance = db.JourneyInstances.Single();
            // <random>.<instance>.<node>@<domain of Email:From>: drawn before the first attempt, kept in the outbox row.
            Assert.Matches($@"^[a-z2-7]{{16}}\.{instance.Id}\.m@localhost$", messageId);
            Assert.True(instance.DueAt > h.App.Time.GetUtcNow().ToUnixTimeMilliseconds());
        }

        h.Advance(TimeSpan.FromMinutes(1));
        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal(messageId, mail.Message.MessageId);
        await using (var db = h.App.Db())
        {
            var outbox = db.OutboxMessages.Single();
            Assert.Equal("sent", outbox.Status);
            Assert.Equal(2, outbox.Attempts);
            Assert.Equal(messageId, outbox.MessageId);
            Assert.Equal("completed", db.JourneyInstances.Single().Status);
        }
    }
}
