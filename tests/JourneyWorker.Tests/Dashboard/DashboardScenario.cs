using System.Net;
using System.Text.RegularExpressions;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using Microsoft.AspNetCore.Mvc.Testing;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>The seed use case run part of the way, and a dashboard session on the in-memory host.</summary>
public static partial class DashboardScenario
{
    /// <summary>
    /// The seed journey published and read: Ann opens her e-mail and buys (her push goes out), Bob opens his and buys but
    /// has no push token (his push fails), Eve (no e-mail consent) and Fay still wait for an open.
    /// </summary>
    public static async Task<Guid> RunSeedAsync(EngineHarness h, CancellationToken cancellationToken)
    {
        var (journeyId, _) = await SeedJourneyTests.SetUpAsync(h);
        await h.PostJsonAsync($"/api/journeys/{journeyId}/publish", "{}", cancellationToken);
        Guid versionId;
        await using (var db = h.App.Db())
        {
            versionId = db.JourneyVersions.Single(v => v.JourneyId == journeyId && v.Status == "live").Id;
        }
        await h.ReadAudienceAsync(versionId, testOnly: false, cancellationToken);
        await h.DrainAsync(cancellationToken);
        var mails = await h.Smtp.WaitForMessagesAsync(3, cancellationToken: cancellationToken);
        foreach (var who in new[] { "ann@example.com", "bob@example.com" })
        {
            await OpenAsync(h, mails.Single(m => m.To.Single() == who), cancellationToken);
        }
        await h.DrainAsync(cancellationToken);
        foreach (var who in new[] { "ann", "bob" })
        {
            await h.PostJsonAsync("/api/events", $$"""{"purchaseMessage": "thank you", "customerEmail": "{{who}}@example.com", "productName": "Shoes"}""", cancellationToken, 202);
        }
        await h.DrainAsync(cancellationToken);
        return journeyId;
    }

    /// <summary>Fetches a received e-mail's open pixel, as a mail client would.</summary>
    public static async Task OpenAsync(EngineHarness h, ReceivedMail mail, CancellationToken cancellationToken)
    {
        using var anonymous = h.App.WithKey(null);
        using var pixel = await anonymous.GetAsync(EngineHarness.PixelPath(mail), cancellationToken);
        Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
    }

    /// <summary>A browser-like client (cookies kept, redirects not followed) signed in with the admin key.</summary>
    public static async Task<HttpClient> SignInAsync(JourneyWorkerApp app, CancellationToken cancellationToken, string baseAddress = "http://localhost")
    {
        var client = Browser(app, baseAddress);
        using var response = await PostFormAsync(client, "/dashboard/sign-in", new() { ["key"] = JourneyWorkerApp.AdminKey, ["returnUrl"] = "/dashboard" }, cancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard", response.Headers.Location?.OriginalString);
        return client;
    }

    public static HttpClient Browser(JourneyWorkerApp app, string baseAddress = "http://localhost") =>
        app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true, BaseAddress = new Uri(baseAddress) });

    /// <summary>Posts a form as the browser would: with the antiforgery token of the page it came from (the sign-in page unless given).</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string url, Dictionary<string, string> fields, CancellationToken cancellationToken, string? tokenFrom = null)
    {
        var page = await client.GetStringAsync(tokenFrom ?? "/dashboard/sign-in", cancellationToken);
        fields["__token"] = TokenOf(page);
        return await client.PostAsync(url, new FormUrlEncodedContent(fields), cancellationToken);
    }

    public static string TokenOf(string html)
    {
        var match = Token().Match(html);
        Assert.True(match.Success, "The page has no antiforgery field.");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    [GeneratedRegex("""name="__token" value="([^"]+)""")]
    private static partial Regex Token();
}
