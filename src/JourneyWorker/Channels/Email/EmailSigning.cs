using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace JourneyWorker.Channels.Email;

/// <summary>
/// DKIM-signs outgoing messages when Email:Dkim is configured (rsa-sha256, relaxed/relaxed). The signature is the
/// last thing added: every header it covers is final, and the body is already in its 7-bit transfer encoding, so
/// nothing on the way to the SMTP server (MailKit re-encodes 8-bit parts for servers without 8BITMIME) changes
/// what was signed.
/// </summary>
public sealed class EmailSigning
{
    /// <summary>
    /// RFC 6376 §5.4.1's recommended fields, plus the ones a receiver reads to judge a bulk message: Message-ID,
    /// the MIME structure, and List-Unsubscribe-Post (RFC 8058 requires it signed) and Feedback-ID (Gmail's loop).
    /// Fields a message does not carry are left out of h=.
    /// </summary>
    public static readonly string[] SignedHeaders =
    [
        "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
        "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post", "List-Owner", "List-Archive",
        "Feedback-ID",
    ];

    private readonly DkimSigner? _signer;

    public EmailSigning(IOptions<EmailOptions> options, IHostEnvironment environment, TimeProvider time)
    {
        var dkim = options.Value.Dkim;
        // The options validator has already refused a key that cannot be read, before anything is sent.
        _signer = dkim.IsConfigured ? CreateSigner(dkim, environment.ContentRootPath, time) : null;
    }

    private EmailSigning() => _signer = null;

    /// <summary>No signing, for senders built by hand.</summary>
    public static EmailSigning None { get; } = new();

    public bool Enabled => _signer is not null;

    /// <summary>How messages are written, to the wire and to pickup files alike: what is signed is what leaves.</summary>
    public static FormatOptions Format { get; } = CreateFormat();

    /// <summary>Puts the body into a 7-bit encoding and, when configured, adds the DKIM-Signature.</summary>
    public void Sign(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        message.Prepare(EncodingConstraint.SevenBit);
        if (_signer is not null)
        {
            // The top-level Content-Type and Content-Transfer-Encoding belong to the body entity in MimeKit's model.
            var present = SignedHeaders.Where(h => message.Headers.Contains(h) || message.Body?.Headers.Contains(h) == true).ToList();
            _signer.Sign(Format, message, present);
        }
    }

    /// <summary>The signer for these options; throws <see cref="InvalidOperationException"/> saying what is wrong.</summary>
    public static DkimSigner CreateSigner(DkimOptions dkim, string contentRoot, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(dkim);
        var path = Path.GetFullPath(dkim.PrivateKeyFile ?? "", contentRoot);
        var key = LoadKey(path);
        return new ClockedSigner(key, dkim.Domain!.Trim(), dkim.Selector!.Trim(), time)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
    }

    /// <summary>Reads an RSA private key (PKCS#1 or PKCS#8 PEM) of at least 1024 bits (RFC 8301).</summary>
    public static RsaPrivateCrtKeyParameters LoadKey(string path)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidOperationException($"the key file '{path}' cannot be read: {e.Message}", e);
        }
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new InvalidOperationException($"'{path}' holds no unencrypted RSA private key in PEM form (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): {e.Message}", e);
        }
        if (rsa.KeySize < 1024)
        {
            throw new InvalidOperationException($"the key in '{path}' has {rsa.KeySize} bits; DKIM needs at least 1024 (2048 recommended).");
        }
        RSAParameters p;
        try
        {
            p = rsa.ExportParameters(includePrivateParameters: true);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"'{path}' holds a public key; DKIM signing needs the private key.", e);
        }
        static BigInteger Big(byte[]? bytes) => new(1, bytes ?? []);
        return new RsaPrivateCrtKeyParameters(Big(p.Modulus), Big(p.Exponent), Big(p.D), Big(p.P), Big(p.Q), Big(p.DP), Big(p.DQ), Big(p.InverseQ));
    }

    private static FormatOptions CreateFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        return format;
    }

    /// <summary>t= from the service's clock, like every other time it writes.</summary>
    private sealed class ClockedSigner(RsaPrivateCrtKeyParameters key, string domain, string selector, TimeProvider time)
        : DkimSigner(key, domain, selector, DkimSignatureAlgorithm.RsaSha256)
    {
        protected override long GetTimestamp() => time.GetUtcNow().ToUnixTimeSeconds();
    }
}
