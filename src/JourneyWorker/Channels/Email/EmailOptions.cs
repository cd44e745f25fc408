using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Channels.Email;

public enum SmtpSecurity
{
    None,
    StartTls,
    SslOnConnect,
}

public sealed class EmailOptions
{
    public const string Section = "Email";

    [Required]
    public string From { get; set; } = "JourneyWorker <journeys@localhost>";

    public string? ReplyTo { get; set; }

    /// <summary>Where .eml files go when no SMTP host is configured; relative paths resolve against the content root.</summary>
    [Required]
    public string PickupDirectory { get; set; } = "data/outbox/email";

    public SmtpOptions Smtp { get; set; } = new();
}

public sealed class SmtpOptions
{
    /// <summary>Empty means: write messages to the pickup directory instead.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 25;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.None;

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>
    /// The SMTP server's own certificate (PEM or DER), trusted instead of the system's CAs: the connection succeeds only if
    /// the server presents exactly this certificate (a pin; for self-signed or private-CA relays). Relative paths resolve
    /// against the content root. Needs <see cref="Security"/> StartTls or SslOnConnect.
    /// </summary>
    public string? TrustedCertificateFile { get; set; }

    /// <summary>Persistent connections kept open; also the number of messages in flight at once.</summary>
    [Range(1, 64)]
    public int PoolSize { get; set; } = 4;

    /// <summary>A connection is closed after this many messages, as many servers limit messages per session.</summary>
    [Range(1, 1_000_000)]
    public int MaxMessagesPerConnection { get; set; } = 1000;

    /// <summary>Per connect and per SMTP command.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A pooled connection idle longer than this is probed with NOOP before use (servers drop idle sessions).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleCheck { get; set; } = TimeSpan.FromSeconds(30);

    public bool HasHost => !string.IsNullOrWhiteSpace(Host);

    public bool HasTrustedCertificate => !string.IsNullOrWhiteSpace(TrustedCertificateFile);

    /// <summary>The pinned certificate; throws (file missing, not a certificate) as the start-up check reports.</summary>
    internal X509Certificate2 LoadTrustedCertificate() => X509CertificateLoader.LoadCertificateFromFile(TrustedCertificateFile!);
}

/// <summary>Data annotations on both levels plus address syntax, so a bad From fails at start, not at the first send.</summary>
internal sealed class EmailOptionsValidator : IValidateOptions<EmailOptions>
{
    public ValidateOptionsResult Validate(string? name, EmailOptions options)
    {
        var errors = new List<string>();
        Annotations(options, "Email", errors);
        Annotations(options.Smtp, "Email:Smtp", errors);
        if (!MailboxAddress.TryParse(options.From, out _))
        {
            errors.Add($"Email:From '{options.From}' is not a valid address.");
        }
        if (!string.IsNullOrWhiteSpace(options.ReplyTo) && !MailboxAddress.TryParse(options.ReplyTo, out _))
        {
            errors.Add($"Email:ReplyTo '{options.ReplyTo}' is not a valid address.");
        }
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
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add($"Email:Smtp:TrustedCertificateFile '{smtp.TrustedCertificateFile}' is not a readable X.509 certificate (PEM or DER): {ex.Message}");
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
