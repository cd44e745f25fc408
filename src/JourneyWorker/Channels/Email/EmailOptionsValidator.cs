using System.ComponentModel.DataAnnotations;
using JourneyWorker.Tracking;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Channels.Email;

/// <summary>
/// Data annotations on every level plus what they cannot say: address syntax, the Message-ID domain, a DKIM key that
/// can really be read, the bounce address and listener. A bad setting stops start-up with its name, not the first send.
/// </summary>
internal sealed class EmailOptionsValidator(IHostEnvironment environment) : IValidateOptions<EmailOptions>
{
    public ValidateOptionsResult Validate(string? name, EmailOptions options)
    {
        var errors = new List<string>();
        Annotations(options, "Email", errors);
        Annotations(options.Smtp, "Email:Smtp", errors);
        Annotations(options.Bounces, "Email:Bounces", errors);
        if (!MailboxAddress.TryParse(options.From, out var from))
        {
            errors.Add($"Email:From '{options.From}' is not a valid address.");
        }
        if (!string.IsNullOrWhiteSpace(options.ReplyTo) && !MailboxAddress.TryParse(options.ReplyTo, out _))
        {
            errors.Add($"Email:ReplyTo '{options.ReplyTo}' is not a valid address.");
        }
        if (!string.IsNullOrWhiteSpace(options.MessageIdDomain))
        {
            if (MessageIds.AsciiDomain(options.MessageIdDomain) is null)
            {
                errors.Add($"Email:MessageIdDomain '{options.MessageIdDomain}' is not a domain name.");
            }
        }
        else if (from is not null && MessageIds.AsciiDomain(from.Domain) is null)
        {
            errors.Add($"The domain of Email:From ('{from.Domain}') cannot be the right-hand side of a Message-ID; set Email:MessageIdDomain.");
        }
        ValidateDkim(options.Dkim, errors);
        ValidateBounces(options.Bounces, errors);
        TrustedCertificate(options.Smtp, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>A pin that cannot be read would make every send fail with a handshake error: say so at start instead.</summary>
    private static void TrustedCertificate(SmtpOptions smtp, List<string> errors)
    {
        if (!smtp.HasTrustedCertificate)
        {
            return;
        }
        if (smtp.Security == SmtpSecurity.None)
        {
            errors.Add("Email:Smtp:TrustedCertificateFile is set but Email:Smtp:Security is None, so no certificate would ever be checked: set Security to StartTls or SslOnConnect.");
        }
        if (!File.Exists(smtp.TrustedCertificateFile))
        {
            errors.Add($"Email:Smtp:TrustedCertificateFile '{smtp.TrustedCertificateFile}' does not exist.");
            return;
        }
        try
        {
            using var certificate = smtp.LoadTrustedCertificate();
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add($"Email:Smtp:TrustedCertificateFile '{smtp.TrustedCertificateFile}' is not a readable X.509 certificate (PEM or DER): {ex.Message}");
        }
    }

    private void ValidateDkim(DkimOptions dkim, List<string> errors)
    {
        if (!dkim.IsConfigured)
        {
            return;
        }
        var missing = new[] { ("Domain", dkim.Domain), ("Selector", dkim.Selector), ("PrivateKeyFile", dkim.PrivateKeyFile) }
            .Where(s => string.IsNullOrWhiteSpace(s.Item2)).Select(s => "Email:Dkim:" + s.Item1).ToList();
        if (missing.Count > 0)
        {
            errors.Add($"DKIM signing needs Email:Dkim:Domain, Selector and PrivateKeyFile together; missing {string.Join(", ", missing)}.");
            return;
        }
        if (MessageIds.AsciiDomain(dkim.Domain) is null)
        {
            errors.Add($"Email:Dkim:Domain '{dkim.Domain}' is not a domain name.");
        }
        if (MessageIds.AsciiDomain(dkim.Selector) is null)
        {
            errors.Add($"Email:Dkim:Selector '{dkim.Selector}' is not a valid selector (letters, digits and hyphens, dot-separated).");
        }
        try
        {
            EmailSigning.LoadKey(Path.GetFullPath(dkim.PrivateKeyFile!, environment.ContentRootPath));
        }
        catch (InvalidOperationException e)
        {
            errors.Add($"Email:Dkim:PrivateKeyFile: {e.Message}");
        }
    }

    private static void ValidateBounces(BounceOptions bounces, List<string> errors)
    {
        if (!string.IsNullOrWhiteSpace(bounces.Address))
        {
            if (!MailboxAddress.TryParse(bounces.Address, out var address) || address.Address != bounces.Address.Trim()
                || address.LocalPart.Length == 0 || MessageIds.AsciiDomain(address.Domain) is null)
            {
                errors.Add($"Email:Bounces:Address '{bounces.Address}' is not a plain address such as bounces@mail.example.com.");
            }
            else if (bounces.Verp && address.LocalPart.Length + 1 + TrackingTokens.BounceTokenLength > 64)
            {
                errors.Add($"Email:Bounces:Address: with Verp the local part '{address.LocalPart}' may have at most "
                    + $"{63 - TrackingTokens.BounceTokenLength} characters (a local part holds 64, the token takes {TrackingTokens.BounceTokenLength + 1}).");
            }
        }
        else if (bounces.Verp)
        {
            errors.Add("Email:Bounces:Verp needs Email:Bounces:Address (the address the tokens are added to).");
        }
        if (!string.IsNullOrWhiteSpace(bounces.Listen) && !ListenEndpoint.TryParse(bounces.Listen, out _))
        {
            errors.Add($"Email:Bounces:Listen '{bounces.Listen}' is not an IP address and port such as 127.0.0.1:2525 or [::]:25.");
        }
    }

    internal static void Annotations(object target, string prefix, List<string> errors)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(r => $"{prefix}: {r.ErrorMessage}"));
        }
    }
}
