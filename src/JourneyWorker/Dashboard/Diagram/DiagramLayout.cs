using System.Globalization;
using System.Text;

namespace JourneyWorker.Dashboard.Diagram;

public sealed record PlacedNode(DiagramNode Node, int Layer, double X, double Y);

/// <summary>An edge with its SVG path and where its label goes; a back edge (to an earlier column) runs below the boxes.</summary>
public sealed record PlacedEdge(DiagramEdge Edge, string Path, double LabelX, double LabelY, bool Back);

/// <summary>
/// A small layered layout (the Sugiyama idea, kept simple): columns by longest path from the entry; an edge that
/// skips columns gets a slot in each column it crosses, so that it runs between the boxes, not through them; edges that
/// close a cycle run back below the boxes; each box and slot is placed level with what leads to it, and nothing in a
/// column overlaps. Journeys have at most a few dozen nodes: everything here takes microseconds.
/// </summary>
public sealed partial class DiagramLayout
{
    public const double NodeWidth = 168;
    public const double ColumnGap = 100;
    public const double RowGap = 26;
    public const double Padding = 16;
    /// <summary>Room above the first row for self-loops.</summary>
    public const double TopPadding = 40;
    public const double LaneGap = 16;
    /// <summary>The height a passing edge takes in a column it crosses.</summary>
    public const double SlotHeight = 14;
    /// <summary>The distance between two exits on the right side of a box: room for one line of label each.</summary>
    public const double ExitSpacing = 18;

    private DiagramLayout(double nodeHeight, List<PlacedNode> nodes, List<PlacedEdge> edges, double width, double height)
    {
        NodeHeight = nodeHeight;
        Nodes = nodes;
        Edges = edges;
        Width = width;
        Height = height;
    }

    public double NodeHeight { get; }
    public IReadOnlyList<PlacedNode> Nodes { get; }
    public IReadOnlyList<PlacedEdge> Edges { get; }
    public double Width { get; }
    public double Height { get; }

    public static DiagramLayout Of(DiagramGraph graph, double minimumHeight)
    {
        var order = graph.Nodes.Select((n, i) => (n.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var outgoing = graph.Nodes.ToDictionary(n => n.Id, _ => new List<DiagramEdge>(), StringComparer.Ordinal);
        foreach (var edge in graph.Edges)
        {
            outgoing[edge.From].Add(edge);
        }
        var (back, topological) = FindBackEdges(graph, outgoing);

        // Every box is as tall as the box with the most exits needs, so that their labels never touch.
        var exits = outgoing.Values.Select(o => o.Count(e => !back.Contains(e))).DefaultIfEmpty(0).Max();
        var nodeHeight = Math.Max(minimumHeight, ExitSpacing * (exits + 1));

        // Columns: the longest path of forward edges from a root.
        var layer = graph.Nodes.ToDictionary(n => n.Id, _ => 0, StringComparer.Ordinal);
        foreach (var id in topological)
        {
            foreach (var edge in outgoing[id].Where(e => !back.Contains(e)))
            {
                layer[edge.To] = Math.Max(layer[edge.To], layer[id] + 1);
            }
        }

        var forward = graph.Edges.Where(e => !back.Contains(e) && e.From != e.To).ToList();
        var items = Items(graph, forward, layer, order, nodeHeight);
        var top = Place(items);
        double X(int column) => Padding + column * (NodeWidth + ColumnGap);
        double Y(string key) => TopPadding + items[key].Y - top;

        var placed = graph.Nodes.Select(n => new PlacedNode(n, layer[n.Id], X(layer[n.Id]), Y(n.Id))).ToList();
        var byId = placed.ToDictionary(p => p.Node.Id, StringComparer.Ordinal);
        var bottom = items.Count == 0 ? TopPadding : items.Keys.Max(k => Y(k) + items[k].Height);
        var width = placed.Count == 0 ? 2 * Padding : placed.Max(p => p.X) + NodeWidth + Padding;

        var edges = new List<PlacedEdge>();
        foreach (var node in placed)
        {
            var leaving = outgoing[node.Node.Id].Where(e => !back.Contains(e) && e.From != e.To)
                .OrderBy(e => items[FirstStop(e, forward, layer)].Y).ThenBy(e => order[e.To]).ToList();
            for (var i = 0; i < leaving.Count; i++)
            {
                var edge = leaving[i];
                var slots = Enumerable.Range(1, layer[edge.To] - layer[edge.From] - 1)
                    .Select(k => (X(layer[edge.From] + k), Y(SlotKey(forward.IndexOf(edge), k)) + SlotHeight / 2)).ToList();
                edges.Add(Forward(edge, node, byId[edge.To], i, leaving.Count, nodeHeight, slots));
            }
        }
        var lane = 0;
        foreach (var edge in graph.Edges.Where(back.Contains))
        {
            edges.Add(edge.From == edge.To
                ? SelfLoop(edge, byId[edge.From])
                : Backward(edge, byId[edge.From], byId[edge.To], bottom + LaneGap * ++lane, nodeHeight));
        }
        return new DiagramLayout(nodeHeight, placed, edges, width, bottom + LaneGap * (lane + 1) + Padding);
    }

    private static string SlotKey(int edge, int step) => string.Create(CultureInfo.InvariantCulture, $"\0{edge}:{step}");

    /// <summary>The first thing an edge reaches: its first slot when it skips columns, else its target.</summary>
    private static string FirstStop(DiagramEdge edge, List<DiagramEdge> forward, Dictionary<string, int> layer) =>
        layer[edge.To] - layer[edge.From] > 1 ? SlotKey(forward.IndexOf(edge), 1) : edge.To;

    private static PlacedEdge Forward(DiagramEdge edge, PlacedNode from, PlacedNode to, int index, int count, double nodeHeight, List<(double X, double Y)> slots)
    {
        // Exits leave the right side spread out, in the order of what they reach first, so that they do not cross there.
        var sx = from.X + NodeWidth;
        var sy = from.Y + nodeHeight / 2 + (index - (count - 1) / 2.0) * ExitSpacing;
        var path = new StringBuilder(FormattableString.Invariant($"M{sx:0.#},{sy:0.#}"));
        var (x, y) = (sx, sy);
        foreach (var (slotX, slotY) in slots)
        {
            Curve(path, x, y, slotX, slotY);
            path.Append(CultureInfo.InvariantCulture, $" H{slotX + NodeWidth:0.#}");
            (x, y) = (slotX + NodeWidth, slotY);
        }
        Curve(path, x, y, to.X - 2, to.Y + nodeHeight / 2);
        // The label sits just after the exit, above the line, where exits of one box never share a spot.
        return new PlacedEdge(edge, path.ToString(), sx + 6, sy - 4, Back: false);
    }

    /// <summary>A curve that leaves and arrives horizontally.</summary>
    private static void Curve(StringBuilder path, double x1, double y1, double x2, double y2)
    {
        var bend = Math.Max(30, (x2 - x1) / 2);
        path.Append(CultureInfo.InvariantCulture, $" C{x1 + bend:0.#},{y1:0.#} {x2 - bend:0.#},{y2:0.#} {x2:0.#},{y2:0.#}");
    }

    private static PlacedEdge Backward(DiagramEdge edge, PlacedNode from, PlacedNode to, double lane, double nodeHeight)
    {
        var sx = from.X + NodeWidth * 0.6;
        var sy = from.Y + nodeHeight;
        var tx = to.X + NodeWidth * 0.4;
        var ty = to.Y + nodeHeight + 2;
        var path = FormattableString.Invariant($"M{sx:0.#},{sy:0.#} V{lane:0.#} H{tx:0.#} V{ty:0.#}");
        return new PlacedEdge(edge, path, Math.Min(sx, tx) + 8, lane - 4, Back: true);
    }

    private static PlacedEdge SelfLoop(DiagramEdge edge, PlacedNode node)
    {
        var right = node.X + NodeWidth * 0.7;
        var left = node.X + NodeWidth * 0.3;
        var top = node.Y - 30;
        var path = FormattableString.Invariant($"M{right:0.#},{node.Y:0.#} C{right:0.#},{top:0.#} {left:0.#},{top:0.#} {left:0.#},{node.Y - 2:0.#}");
        return new PlacedEdge(edge, path, left, top + 4, Back: true);
    }
}
