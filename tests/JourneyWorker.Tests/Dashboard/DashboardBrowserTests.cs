using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium through Playwright) against the real host on a loopback port:
/// signing in, the seed journey's diagram and its live counts, a person's highlighted path, an action.
/// </summary>
public sealed class DashboardBrowserTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sign_in_read_the_seed_journey_follow_a_person_and_turn_test_mode_on()
    {
        // The real host on a loopback port: the browser and the test's API client both talk to it over TCP.
        var address = new Uri($"http://127.0.0.1:{JourneyWorker.Testing.WorkerProcess.FreePort()}/");
        await using var h = await EngineHarness.StartAsync(Ct, configure: app =>
        {
            app.With("Dashboard:RefreshInterval", "00:00:01").UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, address.Port));
            app.ClientOptions.BaseAddress = address;
        });
        var journeyId = await DashboardScenario.RunSeedAsync(h, Ct);
        await using var browser = await BrowserSession.StartAsync(address);
        var page = browser.Page;

        // Signed out, the dashboard sends to the sign-in form, and back after it.
        await page.GotoAsync($"/dashboard/journeys/{journeyId}");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/dashboard/sign-in\\?returnUrl="));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to the dashboard" })).ToBeVisibleAsync();
        await browser.ScreenshotAsync("sign-in");
        var accessibility = new List<string>();
        async Task CheckAccessibilityAsync(string name) => accessibility.AddRange((await browser.AccessibilityViolationsAsync()).Select(v => $"{name}: {v}"));
        await CheckAccessibilityAsync("sign-in");
        await page.GetByLabel("Admin API key").FillAsync(JourneyWorkerApp.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveURLAsync($"{address}dashboard/journeys/{journeyId}");

        // The seed journey's diagram: a box for every node, with the report's counts.
        var report = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}/report", Ct))!["nodes"]!.AsObject();
        var diagram = page.Locator("svg#journey-diagram");
        await Expect(diagram.Locator("g[data-node]")).ToHaveCountAsync(report.Count);
        foreach (var (node, counts) in report)
        {
            var box = diagram.Locator($"g[data-node=\"{node}\"]");
            await Expect(box.Locator("rect.box")).ToBeVisibleAsync();
            foreach (var field in new[] { "entered", "succeeded", "failed", "timedOut", "skipped", "waitingNow" })
            {
                await Expect(box.Locator($"tspan[data-field=\"{field}\"]")).ToHaveTextAsync(counts![field]!.ToJsonString());
            }
        }
        await Expect(diagram.Locator("g[data-field=\"timeoutNext\"] text")).ToHaveTextAsync("timeout");
        await browser.ScreenshotAsync("journey");
        await CheckAccessibilityAsync("journey");

        // While the page is open its counts follow the journey: Fay opens her e-mail.
        var opened = diagram.Locator("g[data-node=\"opened\"] tspan[data-field=\"succeeded\"]");
        await Expect(opened).ToHaveTextAsync("2");
        var fay = h.Smtp.Messages.Single(m => m.To.Single() == "fay@example.com");
        await DashboardScenario.OpenAsync(h, fay, Ct);
        await h.DrainAsync(Ct);
        await Expect(opened).ToHaveTextAsync("3", new() { Timeout = 10_000 });
        await Expect(page.Locator("td[data-count=\"purchase\"][data-field=\"waitingNow\"]")).ToHaveTextAsync("1");
        await Expect(page.Locator("#live-state")).ToContainTextAsync("Counts updated");

        // Ann's path, found by her e-mail address: the nodes and edges she went through are drawn highlighted.
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Dashboard" }).GetByRole(AriaRole.Link, new() { Name = "Instances" }).ClickAsync();
        await page.GetByLabel("Profile (namespace:identity)").FillAsync("email:ann@example.com");
        await page.GetByLabel("Profile (namespace:identity)").PressAsync("Enter");
        var path = page.Locator("svg.diagram").First;
        foreach (var node in new[] { "read", "first", "opened", "purchase", "thanks" })
        {
            await Expect(path.Locator($"g[data-node=\"{node}\"]")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bvisited\\b"));
        }
        await Expect(path.Locator("g[data-node=\"followUp\"]")).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("\\bvisited\\b"));
        await Expect(path.Locator("g.edge.taken")).ToHaveCountAsync(4);
        // Highlighted for real, as drawn: the stylesheet applies (inline, allowed by the CSP).
        var visitedStroke = await path.Locator("g[data-node=\"thanks\"] rect.box").EvaluateAsync<string>("r => getComputedStyle(r).strokeWidth");
        var plainStroke = await path.Locator("g[data-node=\"followUp\"] rect.box").EvaluateAsync<string>("r => getComputedStyle(r).strokeWidth");
        Assert.Equal(("3px", "1.2px"), (visitedStroke, plainStroke));
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = "thanks" }).First).ToBeVisibleAsync();
        await browser.ScreenshotAsync("instance");
        await CheckAccessibilityAsync("instance");

        // An action: a new draft, then test mode on from its page, confirmed with the checkbox.
        await h.PostJsonAsync($"/api/journeys/{journeyId}/versions", "{}", Ct, 201);
        await page.GotoAsync($"/dashboard/journeys/{journeyId}");
        await page.GetByLabel("Wait override").FillAsync("PT5S");
        await page.GetByLabel("Turn test mode on for version 2").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Turn test mode on" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Test mode is on" })).ToBeVisibleAsync();
        var journey = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}", Ct))!;
        Assert.True(journey["testMode"]!.GetValue<bool>());
        Assert.Equal("PT5S", journey["waitOverride"]!.GetValue<string>());

        foreach (var (link, name) in new[] { ("Journeys", "journeys"), ("Audiences", "audiences"), ("Events", "events") })
        {
            await page.GetByRole(AriaRole.Navigation, new() { Name = "Dashboard" }).GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).ClickAsync();
            await Expect(page.Locator("h1")).ToBeVisibleAsync();
            await browser.ScreenshotAsync(name);
            await CheckAccessibilityAsync(name);
        }

        // The keyboard reaches the skip link first, then the navigation.
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator(":focus")).ToHaveTextAsync("Skip to content");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to the dashboard" })).ToBeVisibleAsync();
        await page.GotoAsync("/dashboard");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/dashboard/sign-in"));

        Assert.Empty(browser.Problems);
        Assert.Empty(accessibility);
    }
}
