using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Dashboard.DashboardScenario;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>The dashboard's pages on the seed use case: the same counts as the report, the person's path, failures, audiences, events.</summary>
public sealed partial class DashboardPageTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_journey_page_shows_every_node_with_the_counts_of_the_report()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var journeyId = await RunSeedAsync(h, Ct);
        using var browser = await SignInAsync(h.App, Ct);

        var list = await browser.GetStringAsync("/dashboard", Ct);
        Assert.Contains($"""<a href="/dashboard/journeys/{journeyId}">Multi-channel</a>""", list, StringComparison.Ordinal);
        // active, waiting (Eve, Fay), completed (Ann), failed (Bob), exited
        Assert.Contains("""<td class="num">0</td><td class="num">2</td><td class="num">1</td><td class="num">1</td><td class="num">0</td>""", list, StringComparison.Ordinal);

        var html = await browser.GetStringAsync($"/dashboard/journeys/{journeyId}", Ct);
        var reportJson = await h.Client.GetStringAsync($"/api/journeys/{journeyId}/report", Ct);
        var report = JsonNode.Parse(reportJson)!;
        var svg = Diagram(html, "journey-diagram");
        var nodes = report["nodes"]!.AsObject();
        Assert.Equal(6, nodes.Count);
        foreach (var (node, counts) in nodes)
        {
            Assert.Single(svg.Descendants(Svg + "g"), g => (string?)g.Attribute("data-node") == node);
            foreach (var field in new[] { "entered", "succeeded", "failed", "timedOut", "skipped", "waitingNow" })
            {
                var shown = Assert.Single(svg.Descendants(Svg + "tspan"), t => (string?)t.Attribute("data-count") == node && (string?)t.Attribute("data-field") == field);
                Assert.Equal(counts![field]!.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture), shown.Value);
            }
        }
        // What the page polls is the report itself.
        Assert.Equal(reportJson, await browser.GetStringAsync($"/dashboard/journeys/{journeyId}/live", Ct));
        Assert.Equal(1, report["nodes"]!["thanks"]!["failed"]!.GetValue<int>());
        foreach (var (status, count) in report["instances"]!.AsObject())
        {
            Assert.Contains($"data-instances=\"{status}\">{count}</span>", html, StringComparison.Ordinal);
        }
        Assert.Equal((2, 1, 1), (report["instances"]!["waiting"]!.GetValue<int>(), report["instances"]!["completed"]!.GetValue<int>(), report["instances"]!["failed"]!.GetValue<int>())); // Eve and Fay wait; Ann is done; Bob failed

        // Bob's push failed: no live push token. The failure is listed under its node with its reason.
        var failures = html[html.IndexOf("id=\"failures-title\"", StringComparison.Ordinal)..];
        Assert.Contains("<h3>thanks", failures, StringComparison.Ordinal);
        Assert.Matches("token", failures);
        Assert.Contains($"<a href=\"/dashboard/journeys/{journeyId}/versions/1\">Version 1</a>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instance_lookup_draws_the_profiles_path_and_lists_its_steps()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var journeyId = await RunSeedAsync(h, Ct);
        using var browser = await SignInAsync(h.App, Ct);

        var ann = await browser.GetStringAsync("/dashboard/instances?profile=email%3Aann%40example.com", Ct);
        var instance = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}/instances?profile=email:ann@example.com", Ct))!.AsArray().Single()!;
        var svg = Diagram(ann, $"instance-{instance["id"]}");
        Assert.Equal(["first", "opened", "purchase", "read", "thanks"], Classed(svg, "visited").Order());
        Assert.Empty(Classed(svg, "current")); // she is done
        var taken = svg.Descendants(Svg + "g").Where(g => ((string?)g.Attribute("class"))?.Contains("taken", StringComparison.Ordinal) == true)
            .Select(g => $"{g.Attribute("data-from")!.Value}>{g.Attribute("data-to")!.Value}").Order();
        Assert.Equal(["first>opened", "opened>purchase", "purchase>thanks", "read>first"], taken);
        foreach (var step in instance["steps"]!.AsArray())
        {
            Assert.Contains($"<td>{step!["node"]}</td><td>{step["outcome"]}</td>", ann, StringComparison.Ordinal);
        }

        var fay = await browser.GetStringAsync("/dashboard/instances?profile=email:fay@example.com", Ct);
        Assert.Equal(["opened"], Classed(Diagram(fay, null), "current"));
        Assert.Contains("waiting for reaction:emailOpened:first", fay, StringComparison.Ordinal);

        Assert.Contains("No profile has the identity email:nobody@example.com.", await browser.GetStringAsync("/dashboard/instances?profile=email:nobody@example.com", Ct), StringComparison.Ordinal);
        Assert.Contains("Write the profile as namespace:identity", await browser.GetStringAsync("/dashboard/instances?profile=ann", Ct), StringComparison.Ordinal);
        Assert.Contains("<h1>Not found</h1>", await (await browser.GetAsync("/dashboard/instances/999999", Ct)).Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audiences_show_their_preview_count_and_event_configurations_their_last_events()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (_, audienceId) = await Runtime.SeedJourneyTests.SetUpAsync(h);
        await h.PostJsonAsync("/api/events", """{"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "<b>Hat</b>"}""", Ct, 202);
        await h.PostJsonAsync("/api/events", """{"somethingElse": 1}""", Ct, 202);
        using var browser = await SignInAsync(h.App, Ct);

        var preview = JsonNode.Parse(await h.Client.GetStringAsync($"/api/audiences/{audienceId}/preview", Ct))!;
        var audiences = await browser.GetStringAsync("/dashboard/audiences", Ct);
        Assert.Contains($"<td class=\"num\">{preview["count"]}</td>", audiences, StringComparison.Ordinal);
        Assert.Contains("West and South, born after 1980", audiences, StringComparison.Ordinal);

        var events = await browser.GetStringAsync("/dashboard/events", Ct);
        var purchase = events[events.IndexOf(">purchase</h2>", StringComparison.Ordinal)..events.IndexOf("id=\"unmatched\"", StringComparison.Ordinal)];
        Assert.Contains("&lt;b&gt;Hat&lt;/b&gt;", purchase, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>Hat", events, StringComparison.Ordinal);
        Assert.Contains("somethingElse", events[events.IndexOf("id=\"unmatched\"", StringComparison.Ordinal)..], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_and_values_from_the_data_are_encoded_on_every_page()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        const string Evil = "<script>alert(1)</script>";
        var created = JsonNode.Parse(await h.PostJsonAsync("/api/journeys", $$"""
            { "name": "{{Evil}}", "start": "in", "nodes": [ { "id": "in\"><script>x</script>", "type": "journeyEntry" } ] }
            """, Ct, 201))!;
        using var browser = await SignInAsync(h.App, Ct);
        foreach (var url in new[] { "/dashboard", $"/dashboard/journeys/{created["id"]}", $"/dashboard/journeys/{created["id"]}/versions/1" })
        {
            using var response = await browser.GetAsync(url, Ct);
            var html = await response.Content.ReadAsStringAsync(Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>x", html, StringComparison.Ordinal);
            Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
            Assert.Contains("script-src 'sha256-", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }
    }

    /// <summary>The SVG with the given id (the first diagram when null) out of a page, as XML.</summary>
    internal static XElement Diagram(string html, string? id)
    {
        var start = id is null ? html.IndexOf("<svg", StringComparison.Ordinal) : html.IndexOf($"<svg", html.IndexOf($"id=\"{id}\"", StringComparison.Ordinal) - 200, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no diagram {id}");
        var end = html.IndexOf("</svg>", start, StringComparison.Ordinal) + "</svg>".Length;
        return XDocument.Parse(html[start..end]).Root!;
    }

    private static IEnumerable<string> Classed(XElement svg, string css) =>
        svg.Descendants(Svg + "g").Where(g => g.Attribute("data-node") is not null && SpaceSeparated().Split((string)g.Attribute("class")!).Contains(css))
            .Select(g => (string)g.Attribute("data-node")!);

    [GeneratedRegex(" ")]
    private static partial Regex SpaceSeparated();
}
