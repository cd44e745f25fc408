using System.Net;
using System.Text.RegularExpressions;
using MimeKit;

namespace JourneyWorker.Channels.Email;

/// <summary>Turns an <see cref="EmailMessage"/> into a MIME message, refusing anything that could inject headers.</summary>
internal static partial class EmailMessageBuilder
{
    // Set by the builder itself; letting Headers override them would allow spoofing or a broken structure.
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "Sender", "To", "Cc", "Bcc", "Reply-To", "Subject", "Message-Id", "Date",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Return-Path",
    };

    /// <summary>The message, signed when DKIM is configured, or the reason it must not be sent (a permanent failure).</summary>
    public static (MimeMessage? Message, string? Error) Build(EmailMessage message, EmailOptions options, DateTimeOffset now, EmailSigning signing)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(signing);
        if (Unsafe(message.MessageId) || message.MessageId.Length == 0 || message.MessageId.Contains('<', StringComparison.Ordinal)
            || message.MessageId.Contains('>', StringComparison.Ordinal) || message.MessageId.Contains(' ', StringComparison.Ordinal))
        {
            return (null, "The Message-ID is empty or contains angle brackets, spaces or line breaks.");
        }
        if (Unsafe(message.To) || !MailboxAddress.TryParse(message.To, out var to))
        {
            return (null, "The recipient address is not a valid single address.");
        }
        if (Unsafe(message.Subject))
        {
            return (null, "The subject contains a line break.");
        }
        if (message.ReturnPath is not null && (Unsafe(message.ReturnPath) || !MailboxAddress.TryParse(message.ReturnPath, out _)))
        {
            return (null, "The return path is not a valid address.");
        }
        foreach (var (name, value) in message.Headers)
        {
            if (!IsHeaderName(name))
            {
                return (null, $"'{name}' is not a valid header name.");
            }
            if (ReservedHeaders.Contains(name))
            {
                return (null, $"The header '{name}' is set by the sender and cannot be given.");
            }
            if (Unsafe(value))
            {
                return (null, $"The value of header '{name}' contains a line break.");
            }
        }

        var mime = new MimeMessage();
        mime.From.Add(MailboxAddress.Parse(options.From));
        if (!string.IsNullOrWhiteSpace(options.ReplyTo))
        {
            mime.ReplyTo.Add(MailboxAddress.Parse(options.ReplyTo));
        }
        mime.To.Add(to);
        mime.Subject = message.Subject;
        mime.MessageId = message.MessageId;
        mime.Date = now;
        foreach (var (name, value) in message.Headers)
        {
            mime.Headers.Add(name, value);
        }
        mime.Body = new BodyBuilder
        {
            HtmlBody = message.Html,
            TextBody = message.Text ?? HtmlToText(message.Html),
        }.ToMessageBody();
        // Last: every header the signature covers is set by now.
        signing.Sign(mime);
        return (mime, null);
    }

    /// <summary>A readable text alternative: block ends become line breaks, links keep their target, tags go, entities are decoded.</summary>
    public static string HtmlToText(string html) => TextLayout(TextFromMarkup(html));

    /// <summary>The first half of <see cref="HtmlToText"/>: the markup goes (invisible parts, links, breaks, tags, entities).</summary>
    internal static string TextFromMarkup(string html)
    {
        var text = Invisible().Replace(html, "");
        text = Links().Replace(text, m =>
        {
            var label = Tags().Replace(m.Groups["label"].Value, "").Trim();
            var href = m.Groups["href"].Value;
            return label.Length == 0 || label == href ? href : $"{label} ({href})";
        });
        text = Breaks().Replace(text, "\n");
        text = Tags().Replace(text, "");
        return WebUtility.HtmlDecode(text);
    }

    /// <summary>The second half of <see cref="HtmlToText"/>: runs of spaces, blank lines and the ends of lines.</summary>
    internal static string TextLayout(string text)
    {
        text = Spaces().Replace(text, " ");
        text = BlankLines().Replace(text, "\n\n");
        return string.Join('\n', text.Split('\n').Select(l => l.Trim())).Trim();
    }

    private static bool Unsafe(string? value) => value is not null && value.AsSpan().IndexOfAny('\r', '\n') >= 0;

    private static bool IsHeaderName(string name) =>
        name.Length is > 0 and <= 76 && name.All(c => c is > ' ' and < (char)127 and not ':');

    [GeneratedRegex(@"<(script|style|head)\b[^>]*>.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Invisible();

    [GeneratedRegex(@"<a\b[^>]*?\bhref\s*=\s*[""'](?<href>[^""']*)[""'][^>]*>(?<label>.*?)</a\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    internal static partial Regex Links();

    [GeneratedRegex(@"<br\s*/?>|</(p|div|li|tr|h[1-6]|table|blockquote)\s*>", RegexOptions.IgnoreCase)]
    private static partial Regex Breaks();

    [GeneratedRegex(@"<[^>]*>", RegexOptions.Singleline)]
    private static partial Regex Tags();

    [GeneratedRegex(@"[ \t\f\v\u00A0]+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"\n\s*\n(\s*\n)+")]
    private static partial Regex BlankLines();
}
