using JourneyWorker.Dashboard.Diagram;
using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.Extensions.Options;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>
/// One journey: its instances by status, the diagram of its live version (else its draft or newest) with each node's
/// counts from the report (refreshed while the page is open), every node's counts as a table, its actions, recent
/// failures and its versions.
/// </summary>
public static partial class JourneyPage
{
    public const int FailuresShown = 100;
    public const int FailuresPerNode = 5;

    /// <summary>What the page says after an action succeeded; a fixed set, so the query string cannot put text on the page.</summary>
    private static readonly Dictionary<string, string> Done = new(StringComparer.Ordinal)
    {
        ["test-on"] = "Test mode is on: only test profiles enter, and they really receive the messages.",
        ["test-off"] = "Test mode is off; the test instances and their counts were removed.",
        ["publish"] = "Published: the draft is the live version now.",
        ["close"] = "Closed: no new entries; running instances finish their way.",
        ["stop"] = "Stopped: every instance of the journey has ended.",
    };

    public static async Task<HtmlPage> RenderAsync(Guid id, string? done, HttpContext context, JourneyService journeys, JourneyReports reports,
        InstanceStore store, IOptions<DashboardOptions> options, CancellationToken cancellationToken)
    {
        var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
        var report = journey is null ? null : await reports.ReportAsync(id, cancellationToken);
        if (journey is null || report is null)
        {
            return DashboardEndpoints.NotFound(context, $"No journey has the id {id}.");
        }

        var shown = versions.LastOrDefault(v => v.Status == JourneyStatus.Live) ?? JourneyService.Current(versions);
        var graph = DiagramGraph.From(CompiledJourney.Parse(shown.Definition));
        var rows = report.Nodes.Keys.Select((node, i) => (node, i)).ToDictionary(p => p.node, p => p.i, StringComparer.Ordinal);
        var diagram = DiagramSvg.Framed(graph, new DiagramOptions("journey-diagram", $"Diagram of {journey.Name}, version {shown.Version} ({shown.Status})")
        {
            Counts = report,
            NodeLink = node => rows.TryGetValue(node, out var row) ? $"#node-{row}" : null,
        });
        var failures = await store.RecentFailuresAsync(id, [.. report.Nodes.Keys], FailuresShown, cancellationToken);
        var current = JourneyService.Current(versions);
        var status = versions.Any(v => v.Status == JourneyStatus.Live) ? JourneyStatus.Live : current.Status;
        var interval = (int)options.Value.RefreshInterval.TotalMilliseconds;

        return Layout.Page(context, journey.Name, Section.Journeys, Html($"""
            <p><a href="/dashboard">Journeys</a> › {journey.Name}</p>
            <h1>{journey.Name} {Layout.Status(status)}{(current.TestMode ? Html($" <span class=\"test\">test mode</span>") : Empty)}</h1>
            <p class="muted">Journey <code>{journey.Id}</code> · {versions.Count} version(s) · created {Layout.Time(journey.CreatedAt)}</p>
            {Layout.Notice(done is not null && Done.TryGetValue(done, out var message) ? message : null)}
            <section aria-labelledby="instances-title" data-live="/dashboard/journeys/{journey.Id}/live" data-interval="{interval}">
            <h2 id="instances-title">Instances</h2>
            <ul class="cards">{Cards(report)}</ul>
            <h2 id="diagram-title">Version {shown.Version} ({shown.Status})</h2>
            {Legend(withPath: false)}
            {diagram}
            <p id="live-state" class="live-state" role="status" aria-live="polite">Counts as of loading the page; reload to refresh.</p>
            <h2 id="nodes-title">Nodes</h2>
            {NodeTable(report, graph)}
            </section>
            {Actions(context, journey.Id, versions)}
            {Failures(report, failures)}
            {VersionTable(journey.Id, versions)}
            """), live: true);
    }

    private static IEnumerable<Markup> Cards(JourneyReport report)
    {
        var counts = new (string Key, string Label, int Value)[]
        {
            (InstanceStatus.Active, "active", report.Instances.Active),
            (InstanceStatus.Waiting, "waiting", report.Instances.Waiting),
            (InstanceStatus.Completed, "completed", report.Instances.Completed),
            (InstanceStatus.Failed, "failed", report.Instances.Failed),
            (InstanceStatus.Exited, "exited", report.Instances.Exited),
            ("conversions", "conversions", report.Conversions),
        };
        return counts.Select(c => Html($"""<li><span class="n" data-instances="{c.Key}">{c.Value}</span> {c.Label}</li>"""));
    }

    /// <summary>The legend of the diagram's lines and boxes.</summary>
    public static Markup Legend(bool withPath) => Html($"""
        <ul class="legend" aria-label="Legend">
        <li><span class="sw"></span>next</li>
        <li><span class="sw dash"></span>timeout</li>
        <li><span class="sw err"></span>error</li>
        {(withPath ? Html($"""<li><span class="sw taken"></span>the instance's path</li>""") : Html($"<li>in = entered, ok = succeeded, skip = skipped, fail = failed, t/o = timed out, wait = waiting now</li>"))}
        </ul>
        """);

    /// <summary>Every node of the report (the shown version's first, then any other version's) with all its counts.</summary>
    private static Markup NodeTable(JourneyReport report, DiagramGraph graph)
    {
        var types = graph.Nodes.Where(n => !n.Missing).ToDictionary(n => n.Id, n => n.Type, StringComparer.Ordinal);
        var rows = report.Nodes.Select((pair, i) =>
        {
            var (node, c) = pair;
            Markup Cell(string field, int value) => Html($"""<td class="num" data-count="{node}" data-field="{field}">{value}</td>""");
            return Html($"""
                <tr id="node-{i}"><th scope="row">{node}</th><td>{(types.TryGetValue(node, out var type) ? type : "other version")}</td>
                {Cell("entered", c.Entered)}{Cell("succeeded", c.Succeeded)}{Cell("failed", c.Failed)}{Cell("timedOut", c.TimedOut)}{Cell("skipped", c.Skipped)}{Cell("waitingNow", c.WaitingNow)}{Cell("conversions", c.Conversions)}</tr>
                """);
        });
        return Html($"""
            <table aria-labelledby="nodes-title">
            <thead><tr><th scope="col">Node</th><th scope="col">Type</th><th scope="col" class="num">Entered</th><th scope="col" class="num">Succeeded</th>
            <th scope="col" class="num">Failed</th><th scope="col" class="num">Timed out</th><th scope="col" class="num">Skipped</th><th scope="col" class="num">Waiting now</th><th scope="col" class="num">Conversions</th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            """);
    }

    private static Markup Failures(JourneyReport report, List<FailedStep> failures)
    {
        if (failures.Count == 0)
        {
            return Html($"""<h2>Recent failures</h2><p>No failed step.</p>""");
        }
        var groups = failures.GroupBy(f => f.NodeId, StringComparer.Ordinal).Select(g => Html($"""
            <h3>{g.Key} <span class="muted">({report.Nodes.GetValueOrDefault(g.Key)?.Failed ?? g.Count()} failed in all)</span></h3>
            <table>
            <thead><tr><th scope="col">At</th><th scope="col">Instance</th><th scope="col">Reason</th></tr></thead>
            <tbody>{g.Take(FailuresPerNode).Select(f => Html($"""<tr><td>{Layout.Time(f.At)}</td><td><a href="/dashboard/instances/{f.InstanceId}">#{f.InstanceId}</a></td><td>{f.Detail ?? "—"}</td></tr>"""))}</tbody>
            </table>
            """));
        return Html($"""
            <section aria-labelledby="failures-title">
            <h2 id="failures-title">Recent failures</h2>
            <p class="muted">The newest {FailuresShown} failed steps, at most {FailuresPerNode} per node.</p>
            {groups}
            </section>
            """);
    }

    private static Markup VersionTable(Guid id, List<JourneyVersion> versions) => Html($"""
        <section aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        <table>
        <thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Test mode</th><th scope="col">Created</th><th scope="col">Published</th><th scope="col">Ended</th></tr></thead>
        <tbody>{versions.OrderByDescending(v => v.Version).Select(v => Html($"""
            <tr><th scope="row"><a href="/dashboard/journeys/{id}/versions/{v.Version}">Version {v.Version}</a></th><td>{Layout.Status(v.Status)}</td>
            <td>{(v.TestMode ? "on" : "off")}</td><td>{Layout.Time(v.CreatedAt)}</td><td>{Layout.Time(v.PublishedAt)}</td><td>{Layout.Time(v.EndedAt)}</td></tr>
            """))}</tbody>
        </table>
        </section>
        """);
}
