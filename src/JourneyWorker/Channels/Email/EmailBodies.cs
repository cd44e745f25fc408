using System.Collections.Concurrent;
using System.Net;
using System.Text;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Tracking;

namespace JourneyWorker.Channels.Email;

/// <summary>
/// Renders e-mail bodies with what is the same for every profile worked out once per template (so once per node and
/// version): for a template of text and outputs only, the links are found in its text pieces and the text alternative
/// is derived from the template with a mark for each value and click URL, so a message only puts its values and URLs in.
/// The result is the same as rendering, finding links and converting each decorated body to text; templates where that
/// cannot be guaranteed (tags, a value inside markup, a link or an entity) take that straightforward path.
/// </summary>
public sealed class EmailBodies(TemplateRenderer templates)
{
    private const int MaxCachedPlans = 2048;

    // Marks stand in for values (ValueMark) and click URLs (LinkMark) while the template is converted once; the
    // following character numbers them. Private-use characters: a template containing any gets no plan.
    private const char ValueMark = '\uE000';
    private const char LinkMark = '\uE001';
    private const char FirstNumber = '\uE100';
    private const int MaxMarks = 0x700;

    private readonly ConcurrentDictionary<string, Plan?> _plans = new(StringComparer.Ordinal);

    /// <summary>The rendered body with its links; it carries what <see cref="Text"/> needs when the template has a plan.</summary>
    public PreparedEmailBody Render(string template, TemplateModel model)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (PlanFor(template) is not { } plan)
        {
            return MessageDecorator.FindLinks(templates.Render(template, model, html: true));
        }

        var values = templates.RenderValues(plan.Parts, model, html: true);
        var html = new StringBuilder(plan.LiteralLength + 16 * values.Length);
        var starts = new int[plan.Parts.Literals.Count];
        for (var i = 0; i < starts.Length; i++)
        {
            starts[i] = html.Length;
            html.Append(plan.Parts.Literals[i]);
            if (i < values.Length)
            {
                html.Append(values[i]);
            }
        }
        var spans = new (int, int)[plan.LinkSpans.Length];
        for (var j = 0; j < spans.Length; j++)
        {
            var (segment, offset, length) = plan.LinkSpans[j];
            spans[j] = (starts[segment] + offset, length);
        }
        return new PreparedEmailBody(html.ToString(), plan.Links) { Spans = spans, TextPlan = plan.Text is null ? null : new EmailTextParts(plan.Text, values) };
    }

    /// <summary>
    /// The text alternative of a body rendered by <see cref="Render"/>, given the click URLs it was decorated with; null when
    /// it has no plan (the sender then converts the decorated body).
    /// </summary>
    public static string? Text(PreparedEmailBody body, IReadOnlyList<string> clickUrls)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(clickUrls);
        if (body.TextPlan is not { } parts)
        {
            return null;
        }
        var text = new StringBuilder(parts.Pieces.Length * 32);
        foreach (var (literal, value, link) in parts.Pieces)
        {
            text.Append(literal);
            if (value >= 0)
            {
                // What converting the whole body did to this value: its entities decoded.
                var encoded = parts.Values[value];
                text.Append(encoded.Contains('&', StringComparison.Ordinal) ? WebUtility.HtmlDecode(encoded) : encoded);
            }
            else if (link >= 0)
            {
                text.Append(clickUrls[link]);
            }
        }
        return EmailMessageBuilder.TextLayout(text.ToString());
    }

    private Plan? PlanFor(string template)
    {
        if (_plans.TryGetValue(template, out var plan))
        {
            return plan;
        }
        plan = BuildPlan(template);
        if (_plans.Count >= MaxCachedPlans)
        {
            // As the renderer's cache: templates are few per journey version, a full cache means churn.
            _plans.Clear();
        }
        _plans.TryAdd(template, plan);
        return plan;
    }

    private Plan? BuildPlan(string template)
    {
        if (templates.Parts(template) is not { } parts || parts.Outputs.Count >= MaxMarks || HasMarks(template))
        {
            return null;
        }

        // The template with a mark for each value: its links must be the same whatever the values are.
        var marked = new StringBuilder();
        var literalStarts = new int[parts.Literals.Count];
        for (var i = 0; i < parts.Literals.Count; i++)
        {
            literalStarts[i] = marked.Length;
            marked.Append(parts.Literals[i]);
            if (i < parts.Outputs.Count)
            {
                marked.Append(ValueMark).Append((char)(FirstNumber + i));
            }
        }
        var html = marked.ToString();
        var links = new List<string>();
        var linkSpans = new List<(int Segment, int Offset, int Length)>();
        foreach (var (start, length, urlStart, urlLength, trackable) in MessageDecorator.Hrefs(html))
        {
            // A value inside an href, or just before one, could change what is linked; such templates are rendered per profile.
            if (html.AsSpan(start, length).Contains(ValueMark) || (start >= 2 && html[start - 2] == ValueMark))
            {
                return null;
            }
            if (trackable is not null)
            {
                var segment = Array.FindLastIndex(literalStarts, s => s <= urlStart);
                links.Add(trackable);
                linkSpans.Add((segment, urlStart - literalStarts[segment], urlLength));
            }
        }
        if (ValueCouldStartHref(html))
        {
            return null;
        }
        var literalLength = parts.Literals.Sum(l => l.Length);
        return new Plan(parts, literalLength, [.. links], [.. linkSpans], TextPlan(html, linkSpans.Select(s => (literalStarts[s.Segment] + s.Offset, s.Length)).ToList()));
    }

    /// <summary>
    /// The text alternative of the marked template, as pieces between values and click URLs; null when a value sits where
    /// converting the whole body would treat it otherwise than as plain text (inside a tag or a link, after an open entity).
    /// </summary>
    private static TextPiece[]? TextPlan(string html, List<(int Start, int Length)> linkSpans)
    {
        if (linkSpans.Count >= MaxMarks)
        {
            return null;
        }
        for (var p = html.IndexOf(ValueMark, StringComparison.Ordinal); p >= 0; p = html.IndexOf(ValueMark, p + 1))
        {
            if (html.LastIndexOf('<', p) > html.LastIndexOf('>', p) || AfterOpenEntity(html, p))
            {
                return null;
            }
        }
        // The click URLs replace the link targets before the conversion, as decorating does.
        var withLinks = new StringBuilder(html.Length);
        var copied = 0;
        for (var j = 0; j < linkSpans.Count; j++)
        {
            var (start, length) = linkSpans[j];
            withLinks.Append(html, copied, start - copied).Append(LinkMark).Append((char)(FirstNumber + j));
            copied = start + length;
        }
        var marked = withLinks.Append(html, copied, html.Length - copied).ToString();
        foreach (System.Text.RegularExpressions.Match link in EmailMessageBuilder.Links().Matches(marked))
        {
            if (link.ValueSpan.Contains(ValueMark))
            {
                return null;
            }
        }

        var text = EmailMessageBuilder.TextFromMarkup(marked);
        var pieces = new List<TextPiece>();
        var from = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is ValueMark or LinkMark && i + 1 < text.Length)
            {
                var number = text[i + 1] - FirstNumber;
                pieces.Add(new TextPiece(text[from..i], text[i] == ValueMark ? number : -1, text[i] == LinkMark ? number : -1));
                from = i + 2;
                i++;
            }
        }
        pieces.Add(new TextPiece(text[from..], -1, -1));
        return [.. pieces];
    }

    /// <summary>A value's characters could complete an entity begun before it (&amp;am + p;): decoding must not straddle.</summary>
    private static bool AfterOpenEntity(string html, int mark)
    {
        for (var i = mark - 1; i >= 0 && mark - i <= 40; i--)
        {
            var c = html[i];
            if (c == '&')
            {
                return true;
            }
            if (!char.IsAsciiLetterOrDigit(c) && c != '#')
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>A value followed by what would end <c>href="</c> could, with the right characters, make a link of its own.</summary>
    private static bool ValueCouldStartHref(string html)
    {
        for (var p = html.IndexOf(ValueMark, StringComparison.Ordinal); p >= 0; p = html.IndexOf(ValueMark, p + 1))
        {
            var i = p + 2;
            while (i < html.Length && (char.IsWhiteSpace(html[i]) || "hrefHREF=".Contains(html[i], StringComparison.Ordinal)
                || html[i] == ValueMark || (html[i] >= FirstNumber && html[i - 1] == ValueMark)))
            {
                i++;
            }
            if (i < html.Length && html[i] is '"' or '\'')
            {
                return true;
            }
        }
        return false;
    }

    private static bool HasMarks(string template) => template.AsSpan().IndexOfAnyInRange('\uE000', '\uF8FF') >= 0;

    private sealed record Plan(TemplateParts Parts, int LiteralLength, string[] Links, (int Segment, int Offset, int Length)[] LinkSpans, TextPiece[]? Text);
}

/// <summary>A piece of a derived text alternative: text, then the value or click URL of that number (-1: none).</summary>
internal readonly record struct TextPiece(string Literal, int Value, int Link);

/// <summary>What a message's text alternative is made of: the template's pieces and this message's (HTML-escaped) values.</summary>
internal sealed record EmailTextParts(TextPiece[] Pieces, string[] Values);
