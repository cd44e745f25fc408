using System.Net;
using System.Text;
using JourneyWorker.Deliverability;
using JourneyWorker.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>
/// Bounces and complaints as receiving mail systems write them (a Postfix-style DSN, an RFC 5965 ARF report), delivered
/// to the service's bounce listener by a real SMTP client (MailKit), as a remote MTA would.
/// </summary>
public static class Reports
{
    public const string BounceAddress = "bounces@shop.example";

    /// <summary>A host that sends as news@shop.example, bounces to <see cref="BounceAddress"/> with VERP, and listens for reports.</summary>
    public static Task<EngineHarness> StartAsync(CancellationToken cancellationToken, int softLimit = 3) =>
        EngineHarness.StartAsync(cancellationToken, configure: app => app
            .With("Email:From", "Shop <news@shop.example>")
            .With("Email:Bounces:Address", BounceAddress)
            .With("Email:Bounces:Verp", "true")
            .With("Email:Bounces:Listen", "127.0.0.1:0")
            .With("Email:Bounces:SoftLimit", softLimit.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public static async Task<IPEndPoint> ListenerAsync(EngineHarness h) =>
        await h.App.Services.GetRequiredService<BounceListener>().LocalEndpointAsync.WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>A delivery status notification for the recipient of <paramref name="original"/>, its headers returned.</summary>
    public static string Dsn(ReceivedMail original, string action = "failed", string status = "5.1.1", string? recipient = null, string? headers = null)
    {
        var to = recipient ?? original.To.Single();
        return $"""
            From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
            Subject: Undelivered Mail Returned to Sender
            To: {original.From}
            Date: Mon, 02 Mar 2026 09:05:00 +0000
            Message-ID: <{Guid.NewGuid():N}@mx.example.com>
            Auto-Submitted: auto-replied
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

            This is a MIME-encapsulated message.

            --dsn-boundary
            Content-Description: Notification
            Content-Type: text/plain; charset=us-ascii

            This is the mail system at host mx.example.com.

            I'm sorry to have to inform you that your message could not
            be delivered to one or more recipients.

            --dsn-boundary
            Content-Description: Delivery report
            Content-Type: message/delivery-status

            Reporting-MTA: dns; mx.example.com
            X-Postfix-Queue-ID: 4Q7ZbX1Z3Kz9
            Arrival-Date: Mon,  2 Mar 2026 09:04:58 +0000

            Final-Recipient: rfc822; {to}
            Original-Recipient: rfc822;{to}
            Action: {action}
            Status: {status}
            Remote-MTA: dns; mx.example.com
            Diagnostic-Code: smtp; 550 {status} <{to}>: Recipient address rejected

            --dsn-boundary
            Content-Description: Undelivered Message Headers
            Content-Type: text/rfc822-headers

            {headers ?? HeaderBlock(original)}
            --dsn-boundary--
            """;
    }

    /// <summary>An ARF complaint about <paramref name="original"/>, the whole message attached; the recipient redacted as big providers do.</summary>
    public static string Arf(ReceivedMail original, string feedbackType = "abuse", bool redacted = true)
    {
        var message = Encoding.UTF8.GetString(original.Raw).TrimEnd('\r', '\n');
        if (redacted)
        {
            message = message.Replace(original.To.Single(), "redacted", StringComparison.Ordinal);
        }
        var rcpt = redacted ? "" : $"Original-Rcpt-To: <{original.To.Single()}>\n";
        return $"""
            From: <fbl@feedback.example.net>
            Date: Mon, 02 Mar 2026 10:00:00 +0000
            Subject: FW: {original.Message.Subject}
            To: <{BounceAddress}>
            Message-ID: <{Guid.NewGuid():N}@feedback.example.net>
            MIME-Version: 1.0
            Content-Type: multipart/report; report-type=feedback-report; boundary="arf-boundary"

            --arf-boundary
            Content-Type: text/plain; charset="US-ASCII"
            Content-Transfer-Encoding: 7bit

            This is an email abuse report for an email message received from IP 192.0.2.1.

            --arf-boundary
            Content-Type: message/feedback-report

            Feedback-Type: {feedbackType}
            User-Agent: SomeFeedbackGenerator/1.0
            Version: 1
            Original-Mail-From: <{original.From}>
            {rcpt}Arrival-Date: Mon, 02 Mar 2026 09:00:01 +0000
            Reported-Domain: shop.example
            Source-IP: 192.0.2.1

            --arf-boundary
            Content-Type: message/rfc822
            Content-Disposition: inline

            {message}
            --arf-boundary--
            """;
    }

    /// <summary>The header block of the original as a receiving MTA returns it: with the Return-Path it stamped from the envelope.</summary>
    public static string HeaderBlock(ReceivedMail original)
    {
        var raw = Encoding.UTF8.GetString(original.Raw);
        var end = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return $"Return-Path: <{original.From}>\r\n{raw[..end]}\r\n";
    }

    /// <summary>Delivers <paramref name="raw"/> over SMTP with a null sender, as a DSN goes out; a refusal throws <see cref="SmtpCommandException"/>.</summary>
    public static async Task DeliverAsync(IPEndPoint listener, string raw, string recipient, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(raw.ReplaceLineEndings("\r\n")));
        var message = await MimeMessage.LoadAsync(stream, cancellationToken);
        using var client = new SmtpClient();
        await client.ConnectAsync(listener.Address.ToString(), listener.Port, SecureSocketOptions.None, cancellationToken);
        await client.SendAsync(message, new MailboxAddress("", ""), [MailboxAddress.Parse(recipient)], cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
    }
}
