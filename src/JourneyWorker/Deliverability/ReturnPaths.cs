using JourneyWorker.Channels.Email;
using JourneyWorker.Tracking;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Deliverability;

/// <summary>
/// The envelope sender of each message (Email:Bounces:Address) and, with Verp, the token in it that names the send:
/// local+&lt;token&gt;@domain. A bounce carries the envelope sender back as its recipient, so the token says which send
/// bounced even when the report quotes nothing of the original.
/// </summary>
public sealed class ReturnPaths
{
    private readonly TrackingTokens _tokens;
    private readonly bool _verp;

    public ReturnPaths(IOptions<EmailOptions> options, TrackingTokens tokens)
    {
        _tokens = tokens;
        var bounces = options.Value.Bounces;
        _verp = bounces.Verp;
        if (!string.IsNullOrWhiteSpace(bounces.Address) && MailboxAddress.TryParse(bounces.Address, out var address))
        {
            LocalPart = address.LocalPart;
            Domain = MessageIds.AsciiDomain(address.Domain);
            Address = $"{LocalPart}@{Domain}";
        }
    }

    /// <summary>Email:Bounces:Address, or null when bounces go to the SMTP client's default (the From address).</summary>
    public string? Address { get; }

    private string? LocalPart { get; }

    private string? Domain { get; }

    /// <summary>The envelope sender of the e-mail with this outbox row.</summary>
    public string? For(long outboxMessageId) =>
        Address is null ? null : _verp ? $"{LocalPart}+{_tokens.CreateBounceToken(outboxMessageId)}@{Domain}" : Address;

    /// <summary>
    /// Whether mail to this recipient is ours to take: the bounce address itself, or local+anything at its domain
    /// (a token that turns out forged is ignored when the report is read, not refused in the SMTP dialogue).
    /// </summary>
    public bool IsBounceRecipient(string recipient)
    {
        if (Address is null || Split(recipient) is not var (local, domain) || !string.Equals(domain, Domain, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return string.Equals(local, LocalPart, StringComparison.OrdinalIgnoreCase)
            || (local.StartsWith(LocalPart + "+", StringComparison.OrdinalIgnoreCase) && local.Length > LocalPart!.Length + 1);
    }

    /// <summary>The outbox message a VERP recipient (or Return-Path) names, when its token is genuine.</summary>
    public long? SendOf(string? address)
    {
        if (address is null || Address is null || Split(address.Trim().Trim('<', '>')) is not var (local, domain)
            || !string.Equals(domain, Domain, StringComparison.OrdinalIgnoreCase)
            || !local.StartsWith(LocalPart + "+", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return _tokens.TryReadBounceToken(local[(LocalPart!.Length + 1)..], out var id) ? id : null;
    }

    private static (string Local, string Domain)? Split(string address)
    {
        var at = address.LastIndexOf('@');
        return at <= 0 || at == address.Length - 1 ? null : (address[..at], MessageIds.AsciiDomain(address[(at + 1)..]) ?? address[(at + 1)..]);
    }
}
