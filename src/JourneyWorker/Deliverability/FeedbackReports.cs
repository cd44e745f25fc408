using MimeKit;

namespace JourneyWorker.Deliverability;

/// <summary>
/// Reads the machine-readable part of a bounce or complaint: a delivery status notification (RFC 3464,
/// multipart/report; report-type=delivery-status) or a feedback report (RFC 5965 ARF, report-type=feedback-report).
/// Only what the standards define is read; a free-text bounce without a report part yields nothing.
/// </summary>
public static class FeedbackReports
{
    /// <summary>ARF feedback types that are complaints; not-spam, auth-failure, virus and other are not about the recipient's wish.</summary>
    private static readonly HashSet<string> ComplaintTypes = new(StringComparer.OrdinalIgnoreCase) { "abuse", "fraud" };

    /// <summary>The bounces and complaints in <paramref name="message"/>; a VERP address among <paramref name="envelopeRecipients"/> (RCPT TO) names the send.</summary>
    public static IReadOnlyList<FeedbackReport> Read(MimeMessage message, IEnumerable<string> envelopeRecipients, ReturnPaths returnPaths)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(returnPaths);
        if (Find<MultipartReport>(message.Body) is not { } report)
        {
            return [];
        }

        // The original message (or its headers) rides along in the report; its Message-ID and Return-Path name the send.
        var original = Find<MessagePart>(report)?.Message?.Headers;
        var messageId = original?[HeaderId.MessageId] is { } id ? id.Trim().Trim('<', '>') : null;
        var send = envelopeRecipients.Select(returnPaths.SendOf).FirstOrDefault(s => s is not null)
            ?? returnPaths.SendOf(original?[HeaderId.ReturnPath]);

        var reports = new List<FeedbackReport>();
        if (Find<MessageDeliveryStatus>(report) is { } dsn)
        {
            // The first group is about the message; each further group is one recipient.
            foreach (var recipient in dsn.StatusGroups.Skip(1))
            {
                var status = recipient["Status"]?.Trim();
                if (!string.Equals(recipient["Action"]?.Trim(), "failed", StringComparison.OrdinalIgnoreCase) || status is null || status.Length < 5 || status[1] != '.')
                {
                    continue; // delayed, delivered, relayed, expanded: no bounce
                }
                var kind = status[0] switch
                {
                    '5' => FeedbackKinds.HardBounce,
                    '4' => FeedbackKinds.SoftBounce,
                    _ => null,
                };
                if (kind is not null)
                {
                    var address = TypedAddress(recipient["Original-Recipient"]) ?? TypedAddress(recipient["Final-Recipient"]);
                    reports.Add(new FeedbackReport(kind, address, messageId, send, status.Split(' ', 2)[0]));
                }
            }
        }
        if (Find<MessageFeedbackReport>(report) is { } arf && arf.Fields["Feedback-Type"]?.Trim() is { } type && ComplaintTypes.Contains(type))
        {
            // Providers often redact the recipient (Original-Rcpt-To, To); then the send's profile gives the address.
            var address = Plain(arf.Fields["Original-Rcpt-To"]) ?? Plain(original?[HeaderId.To]);
            reports.Add(new FeedbackReport(FeedbackKinds.Complaint, address, messageId, send, type.ToLowerInvariant()));
        }
        return reports;
    }

    /// <summary>"rfc822; ann@example.com" → the address; other address types (x400, utf-8 forms) are not mail addresses we sent to.</summary>
    private static string? TypedAddress(string? field)
    {
        if (field is null)
        {
            return null;
        }
        var parts = field.Split(';', 2, StringSplitOptions.TrimEntries);
        return parts.Length == 2 && string.Equals(parts[0], "rfc822", StringComparison.OrdinalIgnoreCase) ? Plain(parts[1]) : null;
    }

    /// <summary>An address that parses as one mailbox with an @ (a redacted "xxxxx" does not).</summary>
    private static string? Plain(string? value) =>
        value is not null && MailboxAddress.TryParse(value.Trim(), out var mailbox) && mailbox.Address.Contains('@', StringComparison.Ordinal)
            && !string.IsNullOrWhiteSpace(mailbox.LocalPart) && !string.IsNullOrWhiteSpace(mailbox.Domain)
            ? mailbox.Address
            : null;

    private static T? Find<T>(MimeEntity? entity) where T : MimeEntity
    {
        switch (entity)
        {
            case T match:
                return match;
            case Multipart multipart:
                foreach (var part in multipart)
                {
                    if (Find<T>(part) is { } found)
                    {
                        return found;
                    }
                }
                return null;
            default:
                return null;
        }
    }
}
