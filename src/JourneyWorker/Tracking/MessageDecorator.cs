using System.Text.RegularExpressions;

namespace JourneyWorker.Tracking;

/// <summary>An e-mail body whose links have been found but not yet rewritten: the links must be stored before the message leaves.</summary>
public sealed record PreparedEmailBody(string Html, IReadOnlyList<string> Links);

/// <summary>Adds tracking to outgoing messages: open pixel, click rewriting and one-click unsubscribe for e-mail; an open URL for push.</summary>
public sealed partial class MessageDecorator(TrackingTokens tokens)
{
    /// <summary>
    /// Finds the http(s) links of a rendered body in document order. Links are recorded on the server and
    /// the token only names the message and the link's index, so only URLs this message really contained
    /// can ever be redirected to. The caller stores them (keeping those of an earlier attempt) before sending.
    /// </summary>
    public static PreparedEmailBody FindLinks(string html)
    {
        var links = new List<string>();
        foreach (Match match in HrefPattern().Matches(html))
        {
            if (TrackableUrl(match) is { } url)
            {
                links.Add(url);
            }
        }
        return new PreparedEmailBody(html, links);
    }

    /// <summary>Rewrites the links found by <see cref="FindLinks"/> to click URLs, adds the open pixel and the unsubscribe headers.</summary>
    public string DecorateEmail(PreparedEmailBody body, long outboxMessageId, IDictionary<string, string> headers)
    {
        var index = 0;
        var rewritten = HrefPattern().Replace(body.Html, match => TrackableUrl(match) is null
            ? match.Value
            : $"{match.Groups["prefix"].Value}{tokens.Url("c", TrackingKind.Click, outboxMessageId, index++)}{match.Groups["quote"].Value}");

        var pixel = $"<img src=\"{tokens.Url("o", TrackingKind.Open, outboxMessageId)}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">";
        var bodyEnd = rewritten.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        rewritten = bodyEnd >= 0 ? rewritten.Insert(bodyEnd, pixel) : rewritten + pixel;

        headers["List-Unsubscribe"] = $"<{tokens.Url("u", TrackingKind.Unsubscribe, outboxMessageId)}>";
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
        return rewritten;
    }

    public void DecoratePush(long outboxMessageId, IDictionary<string, string> data)
    {
        var token = tokens.Create(TrackingKind.PushOpen, outboxMessageId);
        data["trackingToken"] = token;
        data["openUrl"] = $"{tokens.BaseUrl}/t/p/{token}";
    }

    private static string? TrackableUrl(Match match)
    {
        var url = System.Net.WebUtility.HtmlDecode(match.Groups["url"].Value);
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? url : null;
    }

    [GeneratedRegex("""(?<prefix>\bhref\s*=\s*(?<quote>["']))(?<url>[^"']*)\k<quote>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex HrefPattern();
}
