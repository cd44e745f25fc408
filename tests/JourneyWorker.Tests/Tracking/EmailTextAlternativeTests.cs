using JourneyWorker.Channels.Email;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Tracking;

/// <summary>
/// The text alternative an engine-sent e-mail carries when its node has no text template: put together from the
/// template's pieces, it must be exactly the conversion of the decorated HTML the recipient gets (click URLs included).
/// </summary>
public sealed class EmailTextAlternativeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Text_alternative_is_the_decorated_html_as_text_for_each_profile()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        const string nodes = """
            { "id": "m", "type": "email", "subject": "Hi {{ profile.person.name.firstName }}",
              "html": "<html><body><h1>Hi {{ profile.person.name.firstName }} – für dich</h1><p>See <a href='https://shop.example.com/new?a=1&amp;b=2'>what is new</a> or <a href='https://example.org/'>https://example.org/</a>, {{ profile.person.birthYear }}.</p></body></html>" }
            """;
        await TrackingScenario.StartAsync(h,
            TrackingScenario.Person("ann@example.com", "Ann &amp; Zoë") + "\n" + TrackingScenario.Person("bob@example.com", "  Bob\\t<b>  "), "m", nodes, Ct);

        var mails = await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal(2, mails.Count);
        foreach (var mail in mails)
        {
            var html = mail.Message.HtmlBody!;
            Assert.Contains("/t/c/", html, StringComparison.Ordinal);
            Assert.Contains("/t/o/", html, StringComparison.Ordinal);
            var text = mail.Message.TextBody!;
            Assert.Equal(EmailMessageBuilder.HtmlToText(html), text.ReplaceLineEndings("\n").TrimEnd('\n'));
            // The click URLs in the text are this message's, as in its HTML.
            Assert.Equal(2, text.Split("/t/c/").Length - 1);
        }
        Assert.Contains(mails, m => m.Message.TextBody!.Contains("Hi Ann &amp; Zoë – für dich", StringComparison.Ordinal));
        Assert.Contains(mails, m => m.Message.TextBody!.Contains("Hi Bob <b> – für dich", StringComparison.Ordinal));
    }
}
