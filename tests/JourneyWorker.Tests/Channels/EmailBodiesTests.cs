using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JourneyWorker.Channels.Email;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Infrastructure;
using JourneyWorker.Tracking;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Tests.Channels;

/// <summary>
/// The e-mail body built from what is worked out once per template (links, text alternative pieces) against the
/// straightforward way: render the whole template, rewrite its links by pattern, add the pixel, convert the decorated body
/// to text. Both must give the same body, links, headers and text, byte for byte.
/// </summary>
public sealed partial class EmailBodiesTests
{
    private readonly TemplateRenderer _templates = new(TimeProvider.System);
    private readonly TrackingTokens _tokens = new(
        Options.Create(new TrackingOptions { PublicBaseUrl = "https://track.example.com/", SigningKey = "equivalence" }),
        new DataDirectory(new ConfigurationBuilder().Build(), new HostingEnvironment { ContentRootPath = Path.GetTempPath() }));

    public static TheoryData<string, bool> Templates => new()
    {
        // Links, values in text, unicode, entities: the fast text path.
        { "<html><head><title>x</title><style>p{color:red}</style></head><body><h1>Hi {{ profile.person.name.firstName }}</h1>"
            + "<p>See <a href=\"https://shop.example.com/new?a=1&amp;b=2\">what is new</a> – für dich, {{ profile.city | upcase }} 🎉.</p>"
            + "<p>Also <a href='http://example.org/p'>http://example.org/p</a> or <a href=\"mailto:help@example.com\">write to us</a>.</p>"
            + "<ul><li>{{ profile.note }}</li><li>&lt;3 &amp; {{ profile.id }}</li></ul>\n\n\n  <div>  {{ profile.empty }}  </div>"
            + "<p><a href=\"https://example.com/x\"></a></p></body></html>", true },
        // Whitespace control and values that are numbers or missing.
        { "<p>{{- profile.person.name.firstName -}} , {{ profile.id }}{{ profile.missing }}</p>\n<p>{{ events.order.total | times: 2 }}</p>", true },
        // Liquid conditionals on profile attributes: tags, so rendered whole, links found per message.
        { "<body>{% if profile.vip %}<p>Dear VIP {{ profile.person.name.firstName }}, <a href=\"https://example.com/vip\">your lounge</a></p>"
            + "{% else %}<p>Hello {{ profile.person.name.firstName }}</p>{% endif %}<a href=\"https://example.com/all\">all</a></body>", false },
        // A value inside an href or a tag: the links and text depend on the value.
        { "<p><a href=\"https://example.com/u/{{ profile.id }}\">{{ profile.person.name.firstName }}</a></p>", false },
        { "<p title=\"{{ profile.note }}\">Hi</p><a href=\"https://example.com/\">x</a>", false },
        // A value inside a link's label is trimmed and compared with the target as a whole: per message.
        { "<p><a href=\"https://example.com/\">Hi {{ profile.person.name.firstName }}</a></p>", false },
        // A value after an open entity could complete it.
        { "<p>&am{{ profile.suffix }}</p>", false },
        // No </body>: the pixel goes at the end; no links.
        { "Plain {{ profile.person.name.firstName }} text, no markup at all.", true },
    };

    public static IEnumerable<JsonObject> Profiles()
    {
        yield return new JsonObject { ["id"] = 42, ["person"] = new JsonObject { ["name"] = new JsonObject { ["firstName"] = "Ada" } }, ["city"] = "Zürich", ["note"] = "Tea & <biscuits> \"quoted\" 'single'", ["vip"] = true, ["suffix"] = "p;" };
        yield return new JsonObject { ["id"] = 7, ["person"] = new JsonObject { ["name"] = new JsonObject { ["firstName"] = "  Zoë\tO'Brien  " } }, ["city"] = "東京", ["note"] = "line one\n\n\n\nline two\u00A0\u00A0end", ["empty"] = "", ["vip"] = false, ["suffix"] = "x" };
        yield return new JsonObject { ["id"] = 8, ["person"] = new JsonObject { ["name"] = new JsonObject { ["firstName"] = "😀 &amp; <b>" } }, ["note"] = "href=\"https://evil.example/\"", ["suffix"] = "" };
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void Body_links_headers_and_text_are_those_of_rendering_every_message_whole(string template, bool planned)
    {
        var bodies = new EmailBodies(_templates);
        var decorator = new MessageDecorator(_tokens);
        var outboxId = 1_000L;
        foreach (var profile in Profiles())
        {
            var model = new TemplateModel(profile, new JsonObject { ["order"] = new JsonObject { ["total"] = 12.5 } }, new JsonObject { ["id"] = "j" });
            outboxId++;

            var expectedHtml = _templates.Render(template, model, html: true);
            var expectedHeaders = new Dictionary<string, string>();
            var expectedDecorated = DecorateByPattern(expectedHtml, outboxId, expectedHeaders, out var expectedLinks);
            var expectedText = EmailMessageBuilder.HtmlToText(expectedDecorated);

            var body = bodies.Render(template, model);
            var headers = new Dictionary<string, string>();
            var clickUrls = new List<string>();
            var decorated = decorator.DecorateEmail(body, outboxId, headers, clickUrls);
            var text = EmailBodies.Text(body, clickUrls);

            Assert.Equal(expectedHtml, body.Html);
            Assert.Equal(expectedLinks, body.Links);
            Assert.Equal(expectedDecorated, decorated);
            Assert.Equal(expectedHeaders, headers);
            Assert.Equal(planned, text is not null);
            Assert.Equal(expectedText, text ?? EmailMessageBuilder.HtmlToText(decorated));
        }
    }

    [Fact]
    public void A_template_is_worked_out_once_and_a_bad_one_fails_as_rendering_does()
    {
        var bodies = new EmailBodies(_templates);
        var model = new TemplateModel(new JsonObject { ["name"] = "Ada" }, [], []);
        var first = bodies.Render("<p>Hi {{ profile.name }} <a href=\"https://example.com/\">x</a></p>", model);
        var second = bodies.Render("<p>Hi {{ profile.name }} <a href=\"https://example.com/\">x</a></p>", model);
        // The same link list object: found once for the template, not per message.
        Assert.Same(first.Links, second.Links);

        // A copy with another body has neither the link places nor the text pieces of the first: it is searched again.
        var other = first with { Html = "<p><a href=\"https://example.org/other\">y</a> Hi Bob</p>" };
        var headers = new Dictionary<string, string>();
        var clickUrls = new List<string>();
        var decorated = new MessageDecorator(_tokens).DecorateEmail(other, 5, headers, clickUrls);
        Assert.Equal(DecorateByPattern(other.Html, 5, [], out _), decorated);
        Assert.Null(EmailBodies.Text(other, clickUrls));

        var error = Assert.Throws<TemplateRenderException>(() => bodies.Render("<p>{{ profile.name | nosuchfilter: }}</p>", model));
        Assert.StartsWith("Template syntax error", error.Message, StringComparison.Ordinal);
        var tooLong = new string('x', TemplateRenderer.MaxOutputLength - 2) + "{{ profile.name }}";
        Assert.Equal(
            Assert.Throws<TemplateRenderException>(() => _templates.Render(tooLong, model, html: true)).Message,
            Assert.Throws<TemplateRenderException>(() => bodies.Render(tooLong, model)).Message);
    }

    /// <summary>The decoration as it was before links were found once: the pattern again over the body, the pixel inserted after.</summary>
    private string DecorateByPattern(string html, long outboxId, Dictionary<string, string> headers, out List<string> links)
    {
        var found = new List<string>();
        var index = 0;
        var rewritten = Href().Replace(html, match =>
        {
            var url = System.Net.WebUtility.HtmlDecode(match.Groups["url"].Value);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                return match.Value;
            }
            found.Add(url);
            return $"{match.Groups["prefix"].Value}{_tokens.Url("c", TrackingKind.Click, outboxId, index++)}{match.Groups["quote"].Value}";
        });
        var pixel = $"<img src=\"{_tokens.Url("o", TrackingKind.Open, outboxId)}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">";
        var bodyEnd = rewritten.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        rewritten = bodyEnd >= 0 ? rewritten.Insert(bodyEnd, pixel) : rewritten + pixel;
        headers["List-Unsubscribe"] = $"<{_tokens.Url("u", TrackingKind.Unsubscribe, outboxId)}>";
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
        links = found;
        return rewritten;
    }

    [GeneratedRegex("""(?<prefix>\bhref\s*=\s*(?<quote>["']))(?<url>[^"']*)\k<quote>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 1000)]
    private static partial Regex Href();
}
