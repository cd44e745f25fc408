using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, or JOURNEYWORKER_CHROMIUM) driven by Playwright; Playwright's own browser
/// builds are never downloaded. A test that needs it is skipped, saying why, only where no Chromium is installed
/// (.ci/run installs Debian's package). Screenshots go to the test output, and also to JOURNEYWORKER_SCREENSHOTS when set
/// (the README's pictures under docs/dashboard come from there).
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    public const string ChromiumVariable = "JOURNEYWORKER_CHROMIUM";
    public const string ScreenshotsVariable = "JOURNEYWORKER_SCREENSHOTS";

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly List<string> _problems = [];

    private BrowserSession(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Context = context;
        Page = page;
        // A CSP violation, a script error or a failed request shows up here.
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                _problems.Add($"console {message.Type}: {message.Text}");
            }
        };
        page.PageError += (_, error) => _problems.Add($"page error: {error}");
    }

    public IBrowserContext Context { get; }
    public IPage Page { get; }

    /// <summary>What the browser complained about so far.</summary>
    public IReadOnlyList<string> Problems => _problems;

    public static string ChromiumPath => Environment.GetEnvironmentVariable(ChromiumVariable) is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<BrowserSession> StartAsync(Uri baseAddress)
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Skip($"No Chromium at {ChromiumPath}: install Debian's chromium package (apt-get install chromium; .ci/run does) or set {ChromiumVariable}.");
        }
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                // Nothing from the internet: the dashboard must not need it, and the test must show that it does not.
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                BaseURL = baseAddress.ToString(),
                ViewportSize = new ViewportSize { Width = 1366, Height = 768 },
                Locale = "en-GB",
                TimezoneId = "UTC",
            });
            // Every request must go to the service itself.
            await context.RouteAsync(url => !url.StartsWith(baseAddress.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal) && !url.StartsWith("data:", StringComparison.Ordinal),
                route => route.AbortAsync());
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(15_000);
            return new BrowserSession(playwright, browser, context, page);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A full-page PNG of what the page shows now.</summary>
    public async Task ScreenshotAsync(string name)
    {
        var folders = new List<string> { Path.Combine(AppContext.BaseDirectory, "screenshots") };
        if (Environment.GetEnvironmentVariable(ScreenshotsVariable) is { Length: > 0 } extra)
        {
            folders.Add(extra);
        }
        var png = await Page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true, Animations = ScreenshotAnimations.Disabled });
        foreach (var folder in folders)
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllBytesAsync(Path.Combine(folder, name + ".png"), png);
        }
    }

    /// <summary>What axe-core (WCAG 2 A/AA and best-practice rules: labels, contrast, names, landmarks...) finds wrong with the page as it is now.</summary>
    public async Task<List<string>> AccessibilityViolationsAsync()
    {
        var results = await Page.RunAxe();
        return [.. results.Violations.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}")];
    }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
