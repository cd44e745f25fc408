using System.Globalization;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Dashboard.Diagram;

/// <summary>A box of the diagram: a node of the journey, or a target that a draft names but does not define.</summary>
public sealed record DiagramNode(string Id, string Type, string Label, string Description, bool Missing = false, bool Start = false);

/// <summary>An arrow: which field of the source names the target (next, timeoutNext, branches[0].next...) and what it says.</summary>
public sealed record DiagramEdge(string From, string To, string Field, string? Label, string? FullLabel);

/// <summary>The nodes and edges of one journey version, in definition order, as the diagram draws them.</summary>
public sealed class DiagramGraph
{
    /// <summary>Edge labels longer than this are cut (the full text is the edge's title).</summary>
    public const int MaxLabelLength = 16;

    private DiagramGraph(List<DiagramNode> nodes, List<DiagramEdge> edges, string? start)
    {
        Nodes = nodes;
        Edges = edges;
        StartId = start;
    }

    public IReadOnlyList<DiagramNode> Nodes { get; }
    public IReadOnlyList<DiagramEdge> Edges { get; }
    public string? StartId { get; }

    public static DiagramGraph From(JourneyDefinition definition)
    {
        var nodes = new List<DiagramNode>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        var defined = (definition.Nodes ?? []).Where(n => n?.Id is not null && known.Add(n.Id)).ToList();
        var start = definition.Start is { } s && known.Contains(s) ? s : null;
        nodes.AddRange(defined.Select(n => new DiagramNode(n.Id!, n.Type ?? "?", TypeLabel(n, n.Id == start), Describe(n), Start: n.Id == start)));

        var edges = new List<DiagramEdge>();
        foreach (var node in defined)
        {
            foreach (var (field, target) in JourneyGraph.Targets(node))
            {
                if (known.Add(target))
                {
                    // A draft may point at a node it has not written yet: drawn dashed, so that the gap shows.
                    nodes.Add(new DiagramNode(target, "missing", "not defined", $"{target}: no node has this id", Missing: true));
                }
                var full = EdgeLabel(node, field);
                edges.Add(new DiagramEdge(node.Id!, target, field, Cut(full), full));
            }
        }
        return new DiagramGraph(nodes, edges, start);
    }

    /// <summary>What an edge says: nothing for next, the kind of exit for the others, a branch its condition or share.</summary>
    public static string? EdgeLabel(NodeDefinition node, string field)
    {
        if (field.StartsWith("branches[", StringComparison.Ordinal))
        {
            var index = int.Parse(field.AsSpan(9, field.IndexOf(']', StringComparison.Ordinal) - 9), CultureInfo.InvariantCulture);
            var branch = node.Branches![index];
            return branch.When ?? (branch.Percent is { } p ? p.ToString("0.##", CultureInfo.InvariantCulture) + " %" : $"branch {index + 1}");
        }
        return field switch
        {
            "next" => null,
            "timeoutNext" => "timeout",
            "errorNext" => "error",
            "otherwise" => "otherwise",
            // Any other exit (a capped send, say) is named after its field.
            _ when field.EndsWith("Next", StringComparison.Ordinal) => field[..^4],
            _ => field,
        };
    }

    private static string? Cut(string? label) =>
        label is null || label.Length <= MaxLabelLength ? label : label[..(MaxLabelLength - 1)] + "…";

    /// <summary>The second line of a box: what kind of node it is, briefly.</summary>
    public static string TypeLabel(NodeDefinition node, bool isStart) => node.Type switch
    {
        NodeTypes.ReadAudience => $"Read audience · {node.Schedule?.Frequency ?? "once"}",
        NodeTypes.Event when isStart => $"Event: {node.Event}",
        NodeTypes.Event => $"Wait for {node.Event}",
        NodeTypes.Reaction => $"{node.Reaction} of {node.Action}",
        NodeTypes.Email => "E-mail",
        NodeTypes.Push => "Push",
        NodeTypes.Webhook => $"Webhook {node.Method ?? "POST"}",
        NodeTypes.Wait => node.Duration is { } d ? $"Wait {d}" : node.Until?.Time is { } time ? $"Wait until {time}" : "Wait until",
        NodeTypes.Condition => "Condition",
        NodeTypes.End => "End",
        NodeTypes.UpdateProfile => "Update profile",
        NodeTypes.Jump => "Jump",
        NodeTypes.JourneyEntry => "Journey entry",
        null => "(no type)",
        _ => node.Type,
    };

    /// <summary>The node's title: its id, type and the settings that say what it does.</summary>
    public static string Describe(NodeDefinition node)
    {
        var detail = node.Type switch
        {
            NodeTypes.ReadAudience => $"reads audience {node.Audience}",
            NodeTypes.Event => $"event {node.Event}" + Timeout(node),
            NodeTypes.Reaction => $"{node.Reaction} of message {node.Action}" + Timeout(node),
            NodeTypes.Email => $"subject \"{node.Subject}\"",
            NodeTypes.Push => $"title \"{node.Title}\"",
            NodeTypes.Webhook => $"{node.Method ?? "POST"} {node.Url}",
            NodeTypes.Wait => node.Duration is { } d ? $"waits {d}" : $"waits until {Until(node.Until)}",
            NodeTypes.Condition => $"{node.Branches?.Count ?? 0} branches" + (node.Otherwise is null ? "" : " and otherwise"),
            NodeTypes.UpdateProfile => $"sets {string.Join(", ", node.Set?.Keys ?? Enumerable.Empty<string>())}",
            NodeTypes.Jump => $"jumps into journey {node.Journey}",
            _ => null,
        };
        return detail is null ? $"{node.Id} ({node.Type})" : $"{node.Id} ({node.Type}): {detail}";
    }

    /// <summary>A fixed moment, or a local time of day in a zone (the profile's or a named one).</summary>
    private static string? Until(WaitUntil? until) => until switch
    {
        { At: { } at } => at.ToString("u", CultureInfo.InvariantCulture),
        { Time: { } time } => $"{time} ({until.TimeZone ?? "profile"} time)",
        _ => null,
    };

    private static string Timeout(NodeDefinition node) => node.Timeout is { } t ? $", timeout {t}" : "";
}
