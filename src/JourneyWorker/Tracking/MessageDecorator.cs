using System.Text.RegularExpressions;
using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tracking;

/// <summary>Adds tracking to outgoing messages: open pixel, click rewriting and one-click unsubscribe for e-mail; an open URL for push.</summary>
public sealed partial class MessageDecorator(TrackingTokens tokens, WriteGate writes)
{
    public async Task<string> DecorateEmailAsync(
        JourneyDbContext db, OutboxMessage outbox, string html, IDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        // Links are recorded on the server; the token only names the message and the link's index,
        // so only URLs this message really contained can ever be redirected to. A retry reuses them.
        var known = await db.TrackedLinks.Where(l => l.OutboxMessageId == outbox.Id)
            .ToDictionaryAsync(l => l.Index, l => l.Url, cancellationToken);
        var index = 0;
        var rewritten = HrefPattern().Replace(html, match =>
        {
            var url = System.Net.WebUtility.HtmlDecode(match.Groups["url"].Value);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                return match.Value;
            }

            var i = index++;
            if (!known.ContainsKey(i))
            {
                db.TrackedLinks.Add(new TrackedLink { OutboxMessageId = outbox.Id, Index = i, Url = url });
            }
            return $"{match.Groups["prefix"].Value}{tokens.Url("c", TrackingKind.Click, outbox.Id, i)}{match.Groups["quote"].Value}";
        });
        await writes.RunAsync(() => db.SaveChangesAsync(cancellationToken), cancellationToken);

        var pixel = $"<img src=\"{tokens.Url("o", TrackingKind.Open, outbox.Id)}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">";
        var bodyEnd = rewritten.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        rewritten = bodyEnd >= 0 ? rewritten.Insert(bodyEnd, pixel) : rewritten + pixel;

        headers["List-Unsubscribe"] = $"<{tokens.Url("u", TrackingKind.Unsubscribe, outbox.Id)}>";
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
        return rewritten;
    }

    public void DecoratePush(OutboxMessage outbox, IDictionary<string, string> data)
    {
        var token = tokens.Create(TrackingKind.PushOpen, outbox.Id);
        data["trackingToken"] = token;
        data["openUrl"] = $"{tokens.BaseUrl}/t/p/{token}";
    }

    [GeneratedRegex("""(?<prefix>\bhref\s*=\s*(?<quote>["']))(?<url>[^"']*)\k<quote>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex HrefPattern();
}
