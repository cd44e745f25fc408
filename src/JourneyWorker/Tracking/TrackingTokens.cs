using System.Buffers.Binary;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using JourneyWorker.Infrastructure;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Tracking;

public sealed class TrackingOptions
{
    public const string Section = "Tracking";

    [Required, Url]
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";

    /// <summary>HMAC key for tracking tokens; when empty a random key is generated once and kept in the data folder.</summary>
    public string? SigningKey { get; set; }
}

public enum TrackingKind : byte
{
    Open = 1,
    Click = 2,
    Unsubscribe = 3,
    PushOpen = 4,
    /// <summary>A VERP envelope sender: bounces to it name the send.</summary>
    Bounce = 5,
}

public readonly record struct TrackingClaim(TrackingKind Kind, long OutboxMessageId, int LinkIndex);

/// <summary>
/// Tamper-proof tracking tokens: kind, message and link index, signed with HMAC-SHA256 (truncated to
/// 128 bits) and base64url-encoded. Nothing guessable is accepted: a forged token fails the MAC.
/// </summary>
public sealed class TrackingTokens
{
    private const int PayloadLength = 1 + 8 + 4;
    private const int MacLength = 16;
    private readonly byte[] _key;

    public TrackingTokens(IOptions<TrackingOptions> options, DataDirectory data)
    {
        var configured = options.Value.SigningKey;
        _key = string.IsNullOrWhiteSpace(configured) ? LoadOrCreateKey(data.Path) : SHA256.HashData(Encoding.UTF8.GetBytes(configured));
        BaseUrl = options.Value.PublicBaseUrl.TrimEnd('/');
        _clickPrefix = $"{BaseUrl}/t/c/";
        _openPrefix = $"{BaseUrl}/t/o/";
        _unsubscribePrefix = $"{BaseUrl}/t/u/";
    }

    // The static part of every e-mail tracking URL, built once.
    private readonly string _clickPrefix;
    private readonly string _openPrefix;
    private readonly string _unsubscribePrefix;

    public string BaseUrl { get; }

    public string Create(TrackingKind kind, long outboxMessageId, int linkIndex = 0)
    {
        Span<byte> token = stackalloc byte[PayloadLength + MacLength];
        Sign(kind, outboxMessageId, linkIndex, token);
        return Encode(token);
    }

    /// <summary>
    /// Appends the same URL as <see cref="Url"/> to <paramref name="builder"/>: the base and path part is built once,
    /// the token is encoded straight into the builder (per link of every message, so no intermediate strings).
    /// </summary>
    public void AppendUrl(StringBuilder builder, TrackingKind kind, long outboxMessageId, int linkIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Span<byte> token = stackalloc byte[PayloadLength + MacLength];
        Sign(kind, outboxMessageId, linkIndex, token);
        // 29 bytes encode to 40 base64 characters, the last '=' padding dropped: 39.
        Span<char> encoded = stackalloc char[40];
        Convert.TryToBase64Chars(token, encoded, out var written);
        var chars = encoded[..written].TrimEnd('=');
        chars.Replace('+', '-');
        chars.Replace('/', '_');
        builder.Append(Prefix(kind)).Append(chars);
    }

    private string Prefix(TrackingKind kind) => kind switch
    {
        TrackingKind.Click => _clickPrefix,
        TrackingKind.Open => _openPrefix,
        TrackingKind.Unsubscribe => _unsubscribePrefix,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "No e-mail URL for this kind."),
    };

    private void Sign(TrackingKind kind, long outboxMessageId, int linkIndex, Span<byte> token)
    {
        token[0] = (byte)kind;
        BinaryPrimitives.WriteInt64BigEndian(token[1..], outboxMessageId);
        BinaryPrimitives.WriteInt32BigEndian(token[9..], linkIndex);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, token[..PayloadLength], mac);
        mac[..MacLength].CopyTo(token[PayloadLength..]);
    }

    private static string Encode(ReadOnlySpan<byte> token) => Convert.ToBase64String(token).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public string Url(string prefix, TrackingKind kind, long outboxMessageId, int linkIndex = 0) =>
        $"{BaseUrl}/t/{prefix}/{Create(kind, outboxMessageId, linkIndex)}";

    public bool TryRead(string? token, TrackingKind expected, out TrackingClaim claim)
    {
        claim = default;
        if (string.IsNullOrEmpty(token) || token.Length > 64)
        {
            return false;
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 += new string('=', (4 - base64.Length % 4) % 4);
        Span<byte> bytes = stackalloc byte[48];
        if (!Convert.TryFromBase64String(base64, bytes, out var length) || length != PayloadLength + MacLength)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, bytes[..PayloadLength], mac);
        // Base64 ignores the unused low bits of the last character, so several spellings decode to the same
        // bytes: only the one spelling we issue is accepted, or an altered token would still work.
        if (!CryptographicOperations.FixedTimeEquals(mac[..MacLength], bytes[PayloadLength..length]) || bytes[0] != (byte)expected
            || !string.Equals(Encode(bytes[..length]), token, StringComparison.Ordinal))
        {
            return false;
        }

        claim = new TrackingClaim(expected, BinaryPrimitives.ReadInt64BigEndian(bytes[1..]), BinaryPrimitives.ReadInt32BigEndian(bytes[9..]));
        return true;
    }

    /// <summary>
    /// The token of a VERP envelope sender (local+token@domain): the outbox message id and a 96-bit MAC in 32 base32
    /// characters. Base32 because mail systems may change the case of a local part; short because a local part
    /// holds at most 64 characters.
    /// </summary>
    public string CreateBounceToken(long outboxMessageId)
    {
        Span<byte> token = stackalloc byte[8 + BounceMacLength];
        BinaryPrimitives.WriteInt64BigEndian(token, outboxMessageId);
        BounceMac(token[..8], token[8..]);
        return Channels.Email.MessageIds.Base32Encode(token);
    }

    public const int BounceTokenLength = 32;
    private const int BounceMacLength = 12;

    public bool TryReadBounceToken(string? token, out long outboxMessageId)
    {
        outboxMessageId = 0;
        Span<byte> bytes = stackalloc byte[8 + BounceMacLength];
        if (token is null || token.Length != BounceTokenLength || !Channels.Email.MessageIds.TryBase32Decode(token, bytes, out var length)
            || length != bytes.Length)
        {
            return false;
        }
        Span<byte> mac = stackalloc byte[BounceMacLength];
        BounceMac(bytes[..8], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, bytes[8..]))
        {
            return false;
        }
        outboxMessageId = BinaryPrimitives.ReadInt64BigEndian(bytes);
        return true;
    }

    private void BounceMac(ReadOnlySpan<byte> id, Span<byte> destination)
    {
        // The kind is part of what is signed, so no other token's MAC can pass for this one.
        Span<byte> payload = stackalloc byte[9];
        payload[0] = (byte)TrackingKind.Bounce;
        id.CopyTo(payload[1..]);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, payload, mac);
        mac[..destination.Length].CopyTo(destination);
    }

    private static byte[] LoadOrCreateKey(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var file = Path.Combine(dataDirectory, "tracking-signing.key");
        if (File.Exists(file))
        {
            var stored = Convert.FromBase64String(File.ReadAllText(file).Trim());
            if (stored.Length >= 32)
            {
                return stored;
            }
        }

        var key = RandomNumberGenerator.GetBytes(32);
        File.WriteAllText(file, Convert.ToBase64String(key));
        return key;
    }
}
