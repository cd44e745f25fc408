using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Webhooks;

/// <summary>A call the allow list or the address rules refuse; retrying does not help.</summary>
public sealed class WebhookRefusedException(string message) : Exception(message);

/// <summary>
/// Where webhooks may go. A host must match <see cref="WebhookOptions.AllowedHosts"/>; and unless the host itself is
/// listed, every address its name resolves to must be public (not loopback, private, link-local, shared, multicast or
/// reserved), so that a wildcard entry, or a public name re-pointed at an internal address, cannot reach the inside
/// of the network. The addresses are checked where the connection is made (<see cref="ConnectAsync"/>): the socket
/// connects to exactly the addresses that were checked, so a name that resolves differently a moment later (DNS
/// rebinding) gains nothing.
/// </summary>
public sealed class WebhookHosts(IOptions<WebhookOptions> options)
{
    private readonly string[] _entries = [.. options.Value.AllowedHosts.Select(Normalize)];

    public bool AnyAllowed => _entries.Length > 0;

    /// <summary>Whether an entry (exact, <c>*.domain</c> or <c>*</c>) admits <paramref name="host"/>.</summary>
    public bool IsAllowed(string host)
    {
        var h = Normalize(host);
        return h.Length > 0 && _entries.Any(e => e == "*" || SameHost(e, h) || (e.StartsWith("*.", StringComparison.Ordinal) && h.EndsWith(e[1..], StringComparison.Ordinal)));
    }

    /// <summary>Whether <paramref name="host"/> is itself an entry: only then may it reach non-public addresses.</summary>
    public bool IsListed(string host)
    {
        var h = Normalize(host);
        return _entries.Any(e => SameHost(e, h));
    }

    /// <summary>The SocketsHttpHandler.ConnectCallback of the webhook client: refuses, resolves, checks and connects.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var host = context.DnsEndPoint.Host;
        if (!IsAllowed(host))
        {
            throw new WebhookRefusedException($"The host '{host}' is not in Webhooks:AllowedHosts.");
        }
        var addresses = IPAddress.TryParse(Normalize(host), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        if (!IsListed(host) && addresses.FirstOrDefault(a => !IsPublic(a)) is { } inside)
        {
            throw new WebhookRefusedException(
                $"The host '{host}' resolves to {inside}, a loopback, private, link-local or reserved address; only a host listed by name in Webhooks:AllowedHosts may reach such an address.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>An address on the public internet: not loopback, private (RFC 1918, unique local), shared (100.64/10), link-local, multicast or reserved.</summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address))
        {
            return false;
        }
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out var length);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return IsPublicV4(b[..length]);
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6
            || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast)
        {
            return false;
        }
        if (b[..12].IndexOfAnyExcept((byte)0) < 0)
        {
            return false; // :: and the deprecated IPv4-compatible ::a.b.c.d
        }
        // Addresses that carry an IPv4 address inside (6to4 2002::/16, NAT64 64:ff9b::/96) are as public as that address.
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return IsPublicV4(b[2..6]);
        }
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..12].IndexOfAnyExcept((byte)0) < 0)
        {
            return IsPublicV4(b[12..16]);
        }
        return true;
    }

    private static bool IsPublicV4(ReadOnlySpan<byte> b) => !(
        b[0] is 0 or 10 or 127 or >= 224                        // this network, private, loopback, multicast and reserved
        || (b[0] == 100 && (b[1] & 0xC0) == 64)                 // shared address space (carrier-grade NAT)
        || (b[0] == 169 && b[1] == 254)                         // link-local (cloud metadata endpoints live here)
        || (b[0] == 172 && (b[1] & 0xF0) == 16)                 // private
        || (b[0] == 192 && b[1] == 168)                         // private
        || (b[0] == 192 && b[1] == 0 && b[2] == 0)              // IETF protocol assignments
        || (b[0] == 198 && (b[1] & 0xFE) == 18));               // benchmarking

    /// <summary>Whether a configuration entry is a host name, an IP address, <c>*.domain</c> or <c>*</c>.</summary>
    public static bool IsValidEntry(string? entry)
    {
        var e = Normalize(entry ?? "");
        if (e == "*")
        {
            return true;
        }
        if (e.StartsWith("*.", StringComparison.Ordinal))
        {
            e = e[2..];
        }
        return IPAddress.TryParse(e, out _) || Uri.CheckHostName(e) == UriHostNameType.Dns;
    }

    /// <summary>
    /// The host of a webhook URL as written in a journey, before any template in it is rendered: the scheme and
    /// host must be literal (a template may follow them in the path or query), so validation can check the host.
    /// </summary>
    public static bool TryLiteralHost(string url, out string host, out string problem)
    {
        ArgumentNullException.ThrowIfNull(url);
        host = "";
        var template = TemplateStart(url);
        var literal = template < 0 ? url : url[..template];
        var schemeEnd = literal.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? "" : literal[..schemeEnd];
        if (!scheme.Equals(Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase) && !scheme.Equals(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
        {
            problem = "must start with http:// or https:// (written out, not from a template)";
            return false;
        }
        var rest = literal[(schemeEnd + 3)..];
        var end = rest.AsSpan().IndexOfAny(@"/?#\");
        if (end < 0 && template >= 0)
        {
            problem = "must name its host literally: a template may only follow the host (in the path or the query)";
            return false;
        }
        var authority = end < 0 ? rest : rest[..end];
        if (!Uri.TryCreate($"{scheme}://{authority}/", UriKind.Absolute, out var parsed) || parsed.UserInfo.Length > 0 || parsed.Host.Length == 0
            || authority.Contains('@', StringComparison.Ordinal))
        {
            problem = $"has no valid host[:port] ('{authority}'; user names and passwords do not belong in the URL)";
            return false;
        }
        host = Normalize(parsed.Host);
        problem = "";
        return true;
    }

    private static int TemplateStart(string text)
    {
        var output = text.IndexOf("{{", StringComparison.Ordinal);
        var tag = text.IndexOf("{%", StringComparison.Ordinal);
        return output < 0 ? tag : tag < 0 ? output : Math.Min(output, tag);
    }

    /// <summary>Lower case, without IPv6 brackets or a trailing dot: how hosts and entries are compared.</summary>
    public static string Normalize(string host) =>
        (host ?? "").Trim().TrimStart('[').TrimEnd(']').TrimEnd('.').ToLowerInvariant();

    private static bool SameHost(string entry, string host) =>
        entry == host || (IPAddress.TryParse(entry, out var a) && IPAddress.TryParse(host, out var b) && a.Equals(b));
}
