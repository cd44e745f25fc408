using System.Text;
using System.Text.RegularExpressions;

namespace JourneyWorker.Tracking;

/// <summary>An e-mail body whose links have been found but not yet rewritten: the links must be stored before the message leaves.</summary>
public sealed record PreparedEmailBody(string Html, IReadOnlyList<string> Links)
{
    // Both belong to the Html they were made with: a copy with another Html (a with-expression) has neither.
    private readonly string? _madeFor;
    private readonly IReadOnlyList<(int Start, int Length)>? _spans;
    private readonly Channels.Email.EmailTextParts? _textPlan;

    /// <summary>
    /// Where each trackable URL sits in <see cref="Html"/> (start, length), in the order of <see cref="Links"/>: the rewrite
    /// splices at these places instead of searching the body a second time. Null for a body built without them.
    /// </summary>
    internal IReadOnlyList<(int Start, int Length)>? Spans
    {
        get => ReferenceEquals(_madeFor, Html) ? _spans : null;
        init
        {
            _spans = value;
            _madeFor = Html;
        }
    }

    /// <summary>Set when the text alternative can be put together from the template's pieces (see <see cref="Channels.Email.EmailBodies"/>).</summary>
    internal Channels.Email.EmailTextParts? TextPlan
    {
        get => ReferenceEquals(_madeFor, Html) ? _textPlan : null;
        init => _textPlan = value;
    }
}

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
        var spans = new List<(int, int)>();
        foreach (Match match in HrefPattern().Matches(html))
        {
            if (TrackableUrl(match) is { } url)
            {
                links.Add(url);
                var group = match.Groups["url"];
                spans.Add((group.Index, group.Length));
            }
        }
        return new PreparedEmailBody(html, links) { Spans = spans };
    }

    /// <summary>
    /// Every href of <paramref name="html"/>: where the whole attribute and its URL sit, and the URL when it is tracked.
    /// </summary>
    internal static IEnumerable<(int Start, int Length, int UrlStart, int UrlLength, string? Trackable)> Hrefs(string html)
    {
        foreach (Match match in HrefPattern().Matches(html))
        {
            var url = match.Groups["url"];
            yield return (match.Index, match.Length, url.Index, url.Length, TrackableUrl(match));
        }
    }

    /// <summary>Rewrites the links found by <see cref="FindLinks"/> to click URLs, adds the open pixel and the unsubscribe headers.</summary>
    public string DecorateEmail(PreparedEmailBody body, long outboxMessageId, IDictionary<string, string> headers) =>
        DecorateEmail(body, outboxMessageId, headers, null);

    /// <summary>As above; the click URLs, in link order, are added to <paramref name="clickUrls"/> when given.</summary>
    public string DecorateEmail(PreparedEmailBody body, long outboxMessageId, IDictionary<string, string> headers, List<string>? clickUrls)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(headers);
        var html = body.Html;
        var spans = body.Spans ?? FindLinks(html).Spans!;
        var pixelUrl = tokens.Url("o", TrackingKind.Open, outboxMessageId);
        var bodyEnd = BodyEnd(html, spans);

        // One pass over the body: the text between links is copied as it is, each link's URL replaced by its click URL,
        // the pixel put before </body> (or at the end). The same bytes as rewriting by pattern, without a second search.
        var rewritten = new StringBuilder(html.Length + (spans.Count + 1) * 96 + PixelStart.Length + PixelEnd.Length);
        var copied = 0;
        var pixelAt = bodyEnd >= 0 ? bodyEnd : html.Length;
        var pixelDone = false;
        for (var index = 0; index < spans.Count; index++)
        {
            var (start, length) = spans[index];
            if (!pixelDone && pixelAt <= start)
            {
                AppendPixel(rewritten, html, ref copied, pixelAt, pixelUrl);
                pixelDone = true;
            }
            rewritten.Append(html, copied, start - copied);
            var at = rewritten.Length;
            tokens.AppendUrl(rewritten, TrackingKind.Click, outboxMessageId, index);
            clickUrls?.Add(rewritten.ToString(at, rewritten.Length - at));
            copied = start + length;
        }
        if (!pixelDone)
        {
            AppendPixel(rewritten, html, ref copied, Math.Max(pixelAt, copied), pixelUrl);
        }
        rewritten.Append(html, copied, html.Length - copied);

        headers["List-Unsubscribe"] = $"<{tokens.Url("u", TrackingKind.Unsubscribe, outboxMessageId)}>";
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
        return rewritten.ToString();
    }

    /// <summary>
    /// The last &lt;/body&gt; outside the URLs being replaced: the pixel goes where it went when it was placed after the
    /// rewrite (a click URL never contains one).
    /// </summary>
    private static int BodyEnd(string html, IReadOnlyList<(int Start, int Length)> spans)
    {
        var end = html.Length;
        while (end > 0)
        {
            var at = html.LastIndexOf("</body>", end - 1, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return -1;
            }
            var inside = -1;
            foreach (var (start, length) in spans)
            {
                if (at < start + length && at + "</body>".Length > start)
                {
                    inside = start;
                    break;
                }
            }
            if (inside < 0)
            {
                return at;
            }
            end = Math.Min(at, inside);
        }
        return -1;
    }

    private const string PixelStart = "<img src=\"";
    private const string PixelEnd = "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">";

    private static void AppendPixel(StringBuilder rewritten, string html, ref int copied, int at, string url)
    {
        rewritten.Append(html, copied, at - copied).Append(PixelStart).Append(url).Append(PixelEnd);
        copied = at;
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
