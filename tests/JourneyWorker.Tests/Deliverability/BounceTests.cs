using System.Net;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using MailKit.Net.Smtp;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>
/// Bounces and complaints coming back by SMTP to the built-in listener: the envelope sender that brings them, what
/// suppresses an address, what is ignored, and that the next journey skips a suppressed address.
/// </summary>
public sealed class BounceTests
{
    private static async Task<JsonArray> SuppressionsAsync(EngineHarness h) =>
        JsonNode.Parse(await h.Client.GetStringAsync("/api/suppressions", Ct))!.AsArray();

    private static JsonNode? Suppression(JsonArray list, string address) => list.SingleOrDefault(s => (string?)s!["address"] == address);

    private static async Task<JsonNode> ReportAsync(EngineHarness h, Guid journey) =>
        JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journey}/report", Ct))!;

    [Fact]
    public async Task Each_message_carries_a_VERP_return_path_List_Id_Feedback_ID_and_a_Message_ID_of_the_sender_domain()
    {
        await using var h = await Reports.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 2, "m", "", Mail("m"));
        await h.DrainAsync(Ct);

        var mails = await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        await using var db = h.App.Db();
        foreach (var mail in mails)
        {
            var outbox = db.OutboxMessages.Single(m => m.MessageId == mail.Message.MessageId);
            Assert.Matches($@"^[a-z2-7]{{16}}\.{outbox.InstanceId}\.m@shop\.example$", mail.Message.MessageId);
            Assert.Matches("^bounces\\+[a-z2-7]{32}@shop\\.example$", mail.From);
            Assert.Null(mail.Message.Headers[MimeKit.HeaderId.ReturnPath]); // the envelope says it; the receiving server writes the header
            Assert.Equal($"<{journey:N}.shop.example>", mail.Message.Headers["List-Id"]);
            Assert.Equal($"m:{journey:N}:journeyworker:shop.example", mail.Message.Headers["Feedback-ID"]);
        }
        Assert.NotEqual(mails[0].From, mails[1].From);
        Assert.NotEqual(mails[0].Message.MessageId!.Split('.')[0], mails[1].Message.MessageId!.Split('.')[0]);
    }

    [Fact]
    public async Task A_DSN_and_an_ARF_report_delivered_over_SMTP_suppress_their_addresses_and_the_next_journey_skips_them()
    {
        await using var h = await Reports.StartAsync(Ct);
        var listener = await Reports.ListenerAsync(h);
        var (first, _) = await StartReadAudienceAsync(h, 3, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        var mails = await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        var toP1 = mails.Single(m => m.To.Single() == Email(1));
        var toP2 = mails.Single(m => m.To.Single() == Email(2));

        // p1's mailbox does not exist: the DSN comes back to the VERP address of that message.
        await Reports.DeliverAsync(listener, Reports.Dsn(toP1, status: "5.1.1"), toP1.From, Ct);
        // p2 pressed "report spam": the provider's feedback loop posts to the plain bounce address, recipient redacted.
        await Reports.DeliverAsync(listener, Reports.Arf(toP2), Reports.BounceAddress, Ct);

        var list = await SuppressionsAsync(h);
        Assert.Equal(2, list.Count);
        Assert.Equal(("hardBounce", "5.1.1"), ((string)Suppression(list, Email(1))!["reason"]!, (string?)Suppression(list, Email(1))!["detail"]));
        Assert.Equal(("complaint", "abuse"), ((string)Suppression(list, Email(2))!["reason"]!, (string?)Suppression(list, Email(2))!["detail"]));
        var node = (await ReportAsync(h, first))["nodes"]!["m"]!;
        Assert.Equal((1, 1, 3), ((int)node["bounced"]!, (int)node["complained"]!, (int)node["succeeded"]!));

        // The next journey mails p3 only; p1 and p2 are skipped with the reason and go on.
        var audience = await AudienceAsync(h);
        var (second, version) = await PublishAsync(h, Journey("read", "", Read(audience, "n"), Mail("n", next: "done"), """{"id": "done", "type": "end"}"""));
        await h.ReadAudienceAsync(version, testOnly: false, Ct);
        await h.DrainAsync(Ct);
        var all = await h.Smtp.WaitForMessagesAsync(4, cancellationToken: Ct);
        Assert.Equal([Email(3)], all.Skip(3).Select(m => m.To.Single()));
        foreach (var instance in (await InstancesAsync(h, second)).Take(2))
        {
            Assert.Equal(InstanceStatus.Completed, instance.Status);
            var skipped = Assert.Single(await StepsAsync(h.App, instance.Id), s => s.Outcome == StepOutcome.Skipped);
            Assert.Equal("n", skipped.Node);
            Assert.Contains("suppressed", skipped.Detail, StringComparison.Ordinal);
            Assert.Contains("done:succeeded", await TraceAsync(h, instance.Id));
        }
        var report = await ReportAsync(h, second);
        Assert.Equal((2, 1), ((int)report["nodes"]!["n"]!["skipped"]!, (int)report["nodes"]!["n"]!["succeeded"]!));
        Assert.Contains("journeyworker_email_feedback_total{kind=\"hardBounce\"} 1", await h.Client.GetStringAsync("/metrics", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Soft_bounces_suppress_only_at_the_limit_within_the_window_and_a_repeated_report_counts_once()
    {
        await using var h = await Reports.StartAsync(Ct, softLimit: 2);
        var listener = await Reports.ListenerAsync(h);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "a", "", Mail("a", next: "w"),
            """{"id": "w", "type": "wait", "duration": "P8D", "next": "b"}""", Mail("b", next: "c"), Mail("c"));
        await h.DrainAsync(Ct);
        var a = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));

        // The mailbox is full: a soft bounce, delivered twice (as after a lost 250), counts once.
        var full = Reports.Dsn(a, status: "4.2.2");
        await Reports.DeliverAsync(listener, full, a.From, Ct);
        await Reports.DeliverAsync(listener, full, a.From, Ct);
        // Delayed is a warning, not a bounce.
        await Reports.DeliverAsync(listener, Reports.Dsn(a, action: "delayed", status: "4.4.1"), a.From, Ct);
        Assert.Empty(await SuppressionsAsync(h));

        // Eight days on the next two messages go out; one soft bounce for b is the second ever, but the first is out of the window.
        h.Advance(TimeSpan.FromDays(8));
        await h.DrainAsync(Ct);
        var mails = await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        var b = mails.Single(m => m.Message.MessageId!.EndsWith(".b@shop.example", StringComparison.Ordinal));
        var c = mails.Single(m => m.Message.MessageId!.EndsWith(".c@shop.example", StringComparison.Ordinal));
        await Reports.DeliverAsync(listener, Reports.Dsn(b, status: "4.2.2"), b.From, Ct);
        Assert.Empty(await SuppressionsAsync(h));
        await Reports.DeliverAsync(listener, Reports.Dsn(c, status: "4.2.2"), c.From, Ct);
        var entry = Assert.Single(await SuppressionsAsync(h))!;
        Assert.Equal((Email(1), "softBounces"), ((string?)entry["address"], (string)entry["reason"]!));

        var nodes = (await ReportAsync(h, journey))["nodes"]!;
        Assert.Equal((1, 1, 1), ((int)nodes["a"]!["bounced"]!, (int)nodes["b"]!["bounced"]!, (int)nodes["c"]!["bounced"]!));
    }

    [Fact]
    public async Task Reports_that_name_no_send_of_ours_and_mail_for_other_addresses_change_nothing()
    {
        await using var h = await Reports.StartAsync(Ct);
        var listener = await Reports.ListenerAsync(h);
        await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));

        // A forged token and a made-up Message-ID: taken (no backscatter) and ignored.
        var forged = "bounces+" + new string('a', 32) + "@shop.example";
        var headers = $"From: news@shop.example\r\nTo: {Email(1)}\r\nMessage-ID: <made.up.id@shop.example>\r\n";
        await Reports.DeliverAsync(listener, Reports.Dsn(mail, headers: headers), forged, Ct);
        await Reports.DeliverAsync(listener, Reports.Dsn(mail, headers: headers), Reports.BounceAddress, Ct);
        // An ordinary reply and a not-spam report.
        await Reports.DeliverAsync(listener, $"From: {Email(1)}\nTo: {Reports.BounceAddress}\nSubject: Re: hi\n\nThanks!\n", mail.From, Ct);
        await Reports.DeliverAsync(listener, Reports.Arf(mail, "not-spam"), Reports.BounceAddress, Ct);
        // Any other recipient is refused in the dialogue.
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => Reports.DeliverAsync(listener, Reports.Dsn(mail), "postmaster@shop.example", Ct));
        Assert.Equal(550, (int)refused.StatusCode);
        refused = await Assert.ThrowsAsync<SmtpCommandException>(() => Reports.DeliverAsync(listener, Reports.Dsn(mail), "bounces@other.example", Ct));
        Assert.Equal(550, (int)refused.StatusCode);

        Assert.Empty(await SuppressionsAsync(h));
        await using var db = h.App.Db();
        Assert.Empty(db.EmailFeedback);
    }
}
