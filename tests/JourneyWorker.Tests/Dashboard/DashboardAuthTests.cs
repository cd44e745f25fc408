using System.Net;
using JourneyWorker.Dashboard;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Dashboard.DashboardScenario;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>Signing in to the dashboard: the admin key on a form, a cookie session scoped to /dashboard, antiforgery on every post.</summary>
public sealed class DashboardAuthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Pages() =>
    [
        "/dashboard", "/dashboard/", "/dashboard/journeys/0196a8e2-0000-7000-8000-000000000000",
        "/dashboard/journeys/0196a8e2-0000-7000-8000-000000000000/versions/1",
        "/dashboard/instances?profile=email:ann@example.com", "/dashboard/instances/1", "/dashboard/audiences", "/dashboard/events", "/dashboard/no/such/page",
    ];

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Without_a_session_every_dashboard_url_sends_to_sign_in(string url)
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        // The admin key in the header does not open the dashboard either: it is a browser session or nothing.
        using var client = app.Admin();
        using var response = await client.GetAsync(url, Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("http://localhost/dashboard/sign-in?returnUrl=", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_session_the_counts_a_page_polls_are_a_401_not_a_redirect()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = app.Admin();
        using var response = await client.GetAsync("/dashboard/journeys/0196a8e2-0000-7000-8000-000000000000/live", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_admin_key_on_the_form_starts_a_strict_http_only_session_cookie_for_the_dashboard_only()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = Browser(app);
        var form = await client.GetAsync("/dashboard/sign-in", Ct);
        var html = await form.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Contains("""<label for="key">Admin API key</label>""", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", form.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        using var signIn = await PostFormAsync(client, "/dashboard/sign-in", new() { ["key"] = JourneyWorkerApp.AdminKey, ["returnUrl"] = "/dashboard/audiences" }, Ct);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/dashboard/audiences", signIn.Headers.Location!.OriginalString);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith(DashboardAuth.CookieName + "=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("path=/dashboard", cookie, StringComparison.Ordinal);
        Assert.Contains("samesite=strict", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.Ordinal);
        Assert.DoesNotContain("secure", cookie, StringComparison.Ordinal); // plain HTTP here; see the HTTPS test
        Assert.DoesNotContain("expires", cookie, StringComparison.Ordinal); // a browser-session cookie; the ticket inside expires

        using var page = await client.GetAsync("/dashboard/audiences", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<h1>Audiences</h1>", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        // The session is no key for the API: a page of this origin cannot use it against /api.
        using var api = await client.GetAsync("/api/journeys", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task Over_https_the_cookies_are_secure()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = Browser(app, "https://localhost");
        using var signIn = await PostFormAsync(client, "/dashboard/sign-in", new() { ["key"] = JourneyWorkerApp.AdminKey }, Ct);
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.All(signIn.Headers.GetValues("Set-Cookie"), c => Assert.Contains("; secure", c, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("wrong-key-0123456789", "That is not the admin API key")]
    [InlineData(JourneyWorkerApp.IngestKey, "That is not the admin API key")]
    [InlineData("", "Enter the admin API key")]
    public async Task Any_other_key_is_refused_on_the_form_and_starts_no_session(string key, string message)
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = Browser(app);
        using var signIn = await PostFormAsync(client, "/dashboard/sign-in", new() { ["key"] = key }, Ct);
        Assert.True(signIn.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest, signIn.StatusCode.ToString());
        Assert.Contains(message, await signIn.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.False(signIn.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(DashboardAuth.CookieName + "=", StringComparison.Ordinal)));
        using var page = await client.GetAsync("/dashboard", Ct);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
    }

    [Fact]
    public async Task A_form_post_without_its_antiforgery_token_is_refused()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = Browser(app);
        using var signIn = await client.PostAsync("/dashboard/sign-in",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = JourneyWorkerApp.AdminKey }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        Assert.Contains("The form could not be accepted", await signIn.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var session = await SignInAsync(app, Ct);
        using var signOut = await session.PostAsync("/dashboard/sign-out", new FormUrlEncodedContent(new Dictionary<string, string>()), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await session.GetAsync("/dashboard", Ct)).StatusCode);
    }

    [Theory]
    [InlineData("//evil.example/dashboard")]
    [InlineData("https://evil.example/")]
    [InlineData("/\\evil.example")]
    [InlineData("/api/journeys")]
    public async Task Sign_in_returns_only_to_a_dashboard_page(string returnUrl)
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = Browser(app);
        using var signIn = await PostFormAsync(client, "/dashboard/sign-in", new() { ["key"] = JourneyWorkerApp.AdminKey, ["returnUrl"] = returnUrl }, Ct);
        Assert.Equal("/dashboard", signIn.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = await SignInAsync(app, Ct);
        using var signOut = await PostFormAsync(client, "/dashboard/sign-out", [], Ct, tokenFrom: "/dashboard");
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal("/dashboard/sign-in", signOut.Headers.Location!.OriginalString);
        using var page = await client.GetAsync("/dashboard", Ct);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
    }

    [Fact]
    public async Task A_session_lapses_after_its_lifetime_without_a_visit()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false").With("Dashboard:SessionLifetime", "01:00:00");
        using var client = await SignInAsync(app, Ct);
        app.Time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/dashboard", Ct)).StatusCode); // renews it (sliding)
        app.Time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/dashboard", Ct)).StatusCode);
        app.Time.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/dashboard", Ct)).StatusCode);
    }
}
