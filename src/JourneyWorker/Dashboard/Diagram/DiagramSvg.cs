using System.Globalization;
using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Diagram;

/// <summary>An instance's way through a diagram: the boxes it passed, the edges it took, where it is now.</summary>
public sealed record DiagramPath(IReadOnlySet<string> Nodes, IReadOnlySet<DiagramEdge> Edges, string? Current);

/// <summary>What to draw: the diagram's id (unique on its page), its title, and optionally live counts, a path, node links.</summary>
public sealed record DiagramOptions(string Id, string Title)
{
    /// <summary>The counts of the journey's report, shown in every box and refreshed by the page's script.</summary>
    public JourneyReport? Counts { get; init; }
    public DiagramPath? Path { get; init; }
    /// <summary>Where a box links to (a row of the page's node table), by node id; no link where it answers null.</summary>
    public Func<string, string?>? NodeLink { get; init; }
}

/// <summary>Renders a laid-out journey as inline SVG: titled boxes and labelled arrows, every text encoded.</summary>
public static class DiagramSvg
{
    public const double PlainHeight = 52;
    public const double CountedHeight = 84;

    public static Markup Render(DiagramGraph graph, DiagramOptions options)
    {
        var layout = DiagramLayout.Of(graph, options.Counts is null ? PlainHeight : CountedHeight);
        var id = options.Id;
        var w = layout.Width.ToString("0", CultureInfo.InvariantCulture);
        var h = layout.Height.ToString("0", CultureInfo.InvariantCulture);
        var summary = $"{graph.Nodes.Count(n => !n.Missing)} nodes and {graph.Edges.Count} connections, left to right from the entry."
            + (options.Path is null ? "" : " The instance's path is highlighted.");
        var edges = layout.Edges.Select(e => Edge(e, options)).ToList();
        var nodes = layout.Nodes.Select(n => Node(n, layout.NodeHeight, options)).ToList();
        return Html($"""
            <svg xmlns="http://www.w3.org/2000/svg" class="diagram" id="{id}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="group" aria-labelledby="{id}-title {id}-desc">
            <title id="{id}-title">{options.Title}</title>
            <desc id="{id}-desc">{summary}</desc>
            <defs>
            <marker id="{id}-arrow" class="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>
            <marker id="{id}-arrow-taken" class="arrow taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="12" markerHeight="12" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>
            </defs>
            <g class="edges">{edges}</g>
            <g class="nodes">{nodes}</g>
            </svg>
            """);
    }

    /// <summary>
    /// The diagram in its scrolling frame. The frame takes keyboard focus, so that a diagram wider than the screen can be
    /// scrolled without a mouse.
    /// </summary>
    public static Markup Framed(DiagramGraph graph, DiagramOptions options) => Html($"""
        <div class="diagram-wrap" tabindex="0" role="region" aria-label="{options.Title}">{Render(graph, options)}</div>
        """);

    private static Markup Edge(PlacedEdge placed, DiagramOptions options)
    {
        var edge = placed.Edge;
        var taken = options.Path?.Edges.Contains(edge) == true;
        var kind = edge.Field switch
        {
            "next" => "next",
            "timeoutNext" => "timeout",
            "errorNext" => "error",
            _ when edge.Field.StartsWith("branches[", StringComparison.Ordinal) || edge.Field == "otherwise" => "branch",
            _ => "other",
        };
        var css = "edge edge-" + kind + (placed.Back ? " back" : "") + (taken ? " taken" : "");
        var marker = $"url(#{options.Id}-arrow{(taken ? "-taken" : "")})";
        var title = $"{edge.From} to {edge.To}" + (edge.FullLabel is { } full ? $": {full}" : "") + (taken ? " (taken)" : "");
        var label = edge.Label is null
            ? Empty
            : Html($"""<text class="edge-label" x="{placed.LabelX:0.#}" y="{placed.LabelY:0.#}">{edge.Label}</text>""");
        return Html($"""
            <g class="{css}" data-from="{edge.From}" data-to="{edge.To}" data-field="{edge.Field}"><title>{title}</title><path d="{placed.Path}" marker-end="{marker}"/>{label}</g>
            """);
    }

    private static Markup Node(PlacedNode placed, double height, DiagramOptions options)
    {
        var node = placed.Node;
        var path = options.Path;
        var visited = path?.Nodes.Contains(node.Id) == true;
        var current = path?.Current == node.Id;
        var css = "node node-" + Family(node) + (node.Missing ? " missing" : "") + (visited ? " visited" : "") + (current ? " current" : "");
        var title = node.Description + (node.Start ? " (entry)" : "") + (current ? " (the instance is here)" : visited ? " (passed)" : "");
        var h = height.ToString("0", CultureInfo.InvariantCulture);
        var body = Html($"""
            <title>{title}</title>
            <rect class="box" width="{DiagramLayout.NodeWidth:0}" height="{h}" rx="6"/><rect class="stripe" width="6" height="{h}" rx="2"/>
            <text class="node-id" x="14" y="20">{Fit(node.Id, 18)}</text>
            <text class="node-type" x="14" y="38">{Fit(node.Label, 22)}</text>
            {Counts(node, options.Counts)}
            """);
        var link = !node.Missing && options.NodeLink?.Invoke(node.Id) is { } href
            ? Html($"""<a href="{href}">{body}</a>""")
            : body;
        return Html($"""
            <g class="{css}" data-node="{node.Id}" transform="translate({placed.X:0.#},{placed.Y:0.#})">{link}</g>
            """);
    }

    private static Markup Counts(DiagramNode node, JourneyReport? report)
    {
        if (report is null || node.Missing)
        {
            return Empty;
        }
        var counts = report.Nodes.GetValueOrDefault(node.Id) ?? new NodeReport(0, 0, 0, 0, 0);
        Markup Count(string field, int value) => Html($"""<tspan class="n" data-count="{node.Id}" data-field="{field}">{value}</tspan>""");
        return Html($"""
            <text class="node-counts" x="14" y="58">in {Count("entered", counts.Entered)} · ok {Count("succeeded", counts.Succeeded)} · skip {Count("skipped", counts.Skipped)}</text>
            <text class="node-counts" x="14" y="74">fail {Count("failed", counts.Failed)} · t/o {Count("timedOut", counts.TimedOut)} · wait {Count("waitingNow", counts.WaitingNow)}</text>
            """);
    }

    /// <summary>The colour family of a box: where profiles come in, messages, waits, decisions, the rest.</summary>
    private static string Family(DiagramNode node) => node.Type switch
    {
        _ when node.Start => "entry",
        NodeTypes.ReadAudience or NodeTypes.JourneyEntry => "entry",
        NodeTypes.Email or NodeTypes.Push or NodeTypes.Webhook => "message",
        NodeTypes.Wait or NodeTypes.Event or NodeTypes.Reaction => "wait",
        NodeTypes.Condition => "decision",
        NodeTypes.UpdateProfile or NodeTypes.Jump => "action",
        _ => "other",
    };

    private static string Fit(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
