using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace JourneyWorker.Channels.Webhooks;

/// <summary>
/// The <c>X-JourneyWorker-Signature</c> header of every webhook call: <c>t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>, where
/// hex is the lower-case hexadecimal HMAC-SHA256 of the UTF-8 bytes of <c>"&lt;t&gt;.&lt;body&gt;"</c> (the body exactly as
/// sent; empty when the call has none), keyed with the UTF-8 bytes of <c>Webhooks:SigningKey</c>.
/// <para>A receiver verifies a call so:</para>
/// <list type="number">
/// <item>Read the raw request body as bytes, before any JSON parsing (re-serialising changes the bytes).</item>
/// <item>Split the header at ',' and each part at the first '='; take <c>t</c> and <c>v1</c>.</item>
/// <item>Compute HMAC-SHA256 over the bytes of <c>t</c>, a '.', then the body, with the shared key, as lower-case hex.</item>
/// <item>Compare it with <c>v1</c> in constant time (e.g. <c>CryptographicOperations.FixedTimeEquals</c>,
/// <c>hmac.compare_digest</c>, <c>crypto.timingSafeEqual</c>).</item>
/// <item>Refuse a <c>t</c> more than a few minutes from the receiver's clock: an old, captured call replayed later fails.</item>
/// </list>
/// <para>Each call carries <c>Idempotency-Key: &lt;instanceId&gt;-&lt;nodeId&gt;</c>, the same on every attempt (retries, and a
/// call repeated after a crash): a receiver that remembers the keys it has acted on acts once. Every attempt is signed
/// anew, so <c>t</c> changes between attempts while the key does not.</para>
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-JourneyWorker-Signature";
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>The header value for <paramref name="body"/> signed at <paramref name="unixSeconds"/>.</summary>
    public static string Create(string key, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(key);
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(key));
        hmac.AppendData(Encoding.UTF8.GetBytes(t + "."));
        hmac.AppendData(body);
        return $"t={t},v1={Convert.ToHexStringLower(hmac.GetHashAndReset())}";
    }

    /// <summary>The idempotency key of a node's call in an instance: stable across attempts.</summary>
    public static string IdempotencyKey(long instanceId, string nodeId) =>
        string.Create(CultureInfo.InvariantCulture, $"{instanceId}-{nodeId}");
}
