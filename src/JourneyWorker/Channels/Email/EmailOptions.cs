using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Security.Cryptography.X509Certificates;

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

    /// <summary>The right-hand side of Message-IDs and the List-Id namespace; empty means the domain of <see cref="From"/>.</summary>
    public string? MessageIdDomain { get; set; }

    /// <summary>Where .eml files go when no SMTP host is configured; relative paths resolve against the content root.</summary>
    [Required]
    public string PickupDirectory { get; set; } = "data/outbox/email";

    public SmtpOptions Smtp { get; set; } = new();

    public DkimOptions Dkim { get; set; } = new();

    public BounceOptions Bounces { get; set; } = new();
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

/// <summary>DKIM signing (RFC 6376, rsa-sha256, relaxed/relaxed): all three set, or none (no signature).</summary>
public sealed class DkimOptions
{
    /// <summary>The signing domain (d=), normally the domain of Email:From or a parent of it, so that DMARC aligns.</summary>
    public string? Domain { get; set; }

    /// <summary>The selector (s=): the public key is published as TXT at &lt;selector&gt;._domainkey.&lt;domain&gt;.</summary>
    public string? Selector { get; set; }

    /// <summary>PEM file with the RSA private key (PKCS#1 or PKCS#8); relative paths resolve against the content root.</summary>
    public string? PrivateKeyFile { get; set; }

    public bool IsConfigured =>
        !string.IsNullOrWhiteSpace(Domain) || !string.IsNullOrWhiteSpace(Selector) || !string.IsNullOrWhiteSpace(PrivateKeyFile);
}

/// <summary>Where bounces and complaints come back, and when soft bounces suppress an address.</summary>
public sealed class BounceOptions
{
    /// <summary>The envelope sender (Return-Path) of every message; empty leaves it to the SMTP client (the From address).</summary>
    public string? Address { get; set; }

    /// <summary>Envelope sender local+&lt;token&gt;@domain, the token naming the send (signed, like tracking tokens).</summary>
    public bool Verp { get; set; }

    /// <summary>host:port of the built-in SMTP listener for DSNs and ARF reports (e.g. 127.0.0.1:2525); empty: no listener.</summary>
    public string? Listen { get; set; }

    /// <summary>Soft bounces of one address within <see cref="SoftWindow"/> that suppress it.</summary>
    [Range(1, 1000)]
    public int SoftLimit { get; set; } = 3;

    /// <summary>How far back soft bounces count.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan SoftWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Largest message the listener takes (a DSN may carry the whole original message).</summary>
    [Range(64 * 1024, 100 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 10 * 1024 * 1024;
}

/// <summary>The listener endpoint of Email:Bounces:Listen.</summary>
public static class ListenEndpoint
{
    /// <summary>"127.0.0.1:2525" or "[::1]:2525": an IP address and an explicit port (0 picks a free one).</summary>
    public static bool TryParse(string? text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        var value = text?.Trim() ?? "";
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1 || !value[(colon + 1)..].All(char.IsAsciiDigit)
            || (value.Contains("::", StringComparison.Ordinal) && !value.StartsWith('[')))
        {
            return false;
        }
        if (!IPEndPoint.TryParse(value, out var parsed))
        {
            return false;
        }
        endpoint = parsed;
        return true;
    }
}
