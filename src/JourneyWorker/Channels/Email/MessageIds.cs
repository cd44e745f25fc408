using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Channels.Email;

/// <summary>
/// Message-IDs of the form <c>&lt;random&gt;.&lt;instanceId&gt;.&lt;nodeId&gt;@&lt;domain&gt;</c>: the sender's own domain
/// (Email:MessageIdDomain, else the domain of Email:From) and a random part, so that two installations, or one
/// database restored next to another, never hand out the same id. The id is drawn once, when the outbox row of
/// (instance, node) is made, and kept in that row: every retry of the send, after a crash too, reuses it.
/// </summary>
public sealed class MessageIds(IOptions<EmailOptions> options)
{
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>The domain part of every Message-ID (ASCII, lower case) and the namespace of List-Ids.</summary>
    public string Domain { get; } = DomainOf(options.Value);

    public string For(long instanceId, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(nodeId);
        return string.Create(CultureInfo.InvariantCulture, $"{RandomPart()}.{instanceId}.{SafeNodeId(nodeId)}@{Domain}");
    }

    /// <summary>A node id as it may appear in a Message-ID or header token: letters, digits, '-' and '_'.</summary>
    public static string SafeNodeId(string nodeId) =>
        new([.. nodeId.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '-')]);

    /// <summary>80 random bits in 16 base32 characters.</summary>
    internal static string RandomPart()
    {
        Span<byte> bytes = stackalloc byte[10];
        RandomNumberGenerator.Fill(bytes);
        return Base32Encode(bytes);
    }

    /// <summary>RFC 4648 base32 in lower case without padding: case-insensitive, safe in local parts and Message-IDs.</summary>
    internal static string Base32Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[(bytes.Length * 8 + 4) / 5];
        int buffer = 0, bits = 0, index = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[index++] = Base32[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            chars[index++] = Base32[(buffer << (5 - bits)) & 31];
        }
        return new string(chars, 0, index);
    }

    internal static bool TryBase32Decode(string text, Span<byte> destination, out int written)
    {
        written = 0;
        int buffer = 0, bits = 0;
        foreach (var ch in text)
        {
            var value = Base32.IndexOf(char.ToLowerInvariant(ch), StringComparison.Ordinal);
            if (value < 0)
            {
                return false;
            }
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                if (written == destination.Length)
                {
                    return false;
                }
                destination[written++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }
        // Leftover bits must be zero padding, or several spellings would decode to the same bytes.
        return (buffer & ((1 << bits) - 1)) == 0;
    }

    /// <summary>Email:MessageIdDomain, else the domain of Email:From, as ASCII (IDNA) in lower case; null when neither is usable.</summary>
    public static string DomainOf(EmailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var domain = !string.IsNullOrWhiteSpace(options.MessageIdDomain)
            ? options.MessageIdDomain.Trim()
            : MailboxAddress.TryParse(options.From, out var from) ? from.Domain : "";
        return AsciiDomain(domain) ?? "localhost";
    }

    /// <summary>The host name in ASCII lower case, or null when it is not one (labels of letters, digits and inner hyphens).</summary>
    public static string? AsciiDomain(string? domain)
    {
        if (string.IsNullOrWhiteSpace(domain))
        {
            return null;
        }
        string ascii;
        try
        {
            ascii = new IdnMapping().GetAscii(domain.Trim().TrimEnd('.')).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
        return ascii.Length <= 253 && ascii.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && label[0] != '-' && label[^1] != '-')
            ? ascii
            : null;
    }
}
