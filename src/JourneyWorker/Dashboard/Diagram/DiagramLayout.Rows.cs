namespace JourneyWorker.Dashboard.Diagram;

public sealed partial class DiagramLayout
{
    /// <summary>Something that takes room in a column: a box, or the slot of an edge crossing the column.</summary>
    private sealed class Item(string key, int column, double height, int order)
    {
        public string Key { get; } = key;
        public int Column { get; } = column;
        public double Height { get; } = height;
        /// <summary>Where it comes in the definition: the tie-breaker that keeps the picture stable.</summary>
        public int Order { get; } = order;
        public List<string> From { get; } = [];
        public double Y { get; set; }
    }

    /// <summary>
    /// Depth-first from the entry, then from every node nothing leads to, then from whatever is left (a cycle nothing
    /// enters): an edge to a node still on the stack closes a cycle. Also returns the nodes in topological order of the rest.
    /// </summary>
    private static (HashSet<DiagramEdge> Back, List<string> Topological) FindBackEdges(DiagramGraph graph, Dictionary<string, List<DiagramEdge>> outgoing)
    {
        var entered = graph.Edges.Select(e => e.To).ToHashSet(StringComparer.Ordinal);
        var roots = new List<string>();
        if (graph.StartId is { } start)
        {
            roots.Add(start);
        }
        roots.AddRange(graph.Nodes.Where(n => !entered.Contains(n.Id)).Select(n => n.Id));
        roots.AddRange(graph.Nodes.Select(n => n.Id));

        var back = new HashSet<DiagramEdge>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the stack, 2 done
        var postOrder = new List<string>();
        void Visit(string id)
        {
            state[id] = 1;
            foreach (var edge in outgoing[id])
            {
                switch (state.GetValueOrDefault(edge.To))
                {
                    case 1:
                        back.Add(edge);
                        break;
                    case 0:
                        Visit(edge.To);
                        break;
                }
            }
            state[id] = 2;
            postOrder.Add(id);
        }
        foreach (var root in roots.Where(r => state.GetValueOrDefault(r) == 0))
        {
            Visit(root);
        }
        postOrder.Reverse();
        return (back, postOrder);
    }

    /// <summary>The boxes, and a slot for each column a forward edge crosses, each knowing what leads to it.</summary>
    private static Dictionary<string, Item> Items(DiagramGraph graph, List<DiagramEdge> forward, Dictionary<string, int> layer, Dictionary<string, int> order, double nodeHeight)
    {
        var items = graph.Nodes.ToDictionary(n => n.Id, n => new Item(n.Id, layer[n.Id], nodeHeight, order[n.Id]), StringComparer.Ordinal);
        for (var i = 0; i < forward.Count; i++)
        {
            var edge = forward[i];
            var previous = edge.From;
            for (var step = 1; step < layer[edge.To] - layer[edge.From]; step++)
            {
                var slot = new Item(SlotKey(i, step), layer[edge.From] + step, SlotHeight, order[edge.From]);
                slot.From.Add(previous);
                items[slot.Key] = slot;
                previous = slot.Key;
            }
            items[edge.To].From.Add(previous);
        }
        return items;
    }

    /// <summary>
    /// Vertical positions, column by column: each item wants its centre at the mean centre of what leads to it; in that
    /// order items are pushed apart until none overlaps, then the column is shifted back so that, on average, it sits where
    /// it wanted. Items nothing leads to go below. Returns the smallest Y.
    /// </summary>
    private static double Place(Dictionary<string, Item> items)
    {
        var top = 0.0;
        foreach (var column in items.Values.GroupBy(i => i.Column).OrderBy(g => g.Key))
        {
            var wanted = column.Select(item => (Item: item, Want: item.From.Count > 0 ? item.From.Average(f => items[f].Y + items[f].Height / 2) : (double?)null)).ToList();
            var anchored = wanted.Where(w => w.Want is not null).OrderBy(w => w.Want).ThenBy(w => w.Item.Order).ToList();
            var next = double.NegativeInfinity;
            foreach (var (item, want) in anchored)
            {
                item.Y = Math.Max(want!.Value - item.Height / 2, next);
                next = item.Y + item.Height + RowGap;
            }
            var shift = anchored.Count == 0 ? 0 : anchored.Average(w => w.Want!.Value - w.Item.Height / 2 - w.Item.Y);
            var free = 0.0;
            foreach (var (item, _) in anchored)
            {
                item.Y += shift;
                free = Math.Max(free, item.Y + item.Height + RowGap);
            }
            foreach (var (item, _) in wanted.Where(w => w.Want is null).OrderBy(w => w.Item.Order))
            {
                item.Y = free;
                free += item.Height + RowGap;
            }
            top = Math.Min(top, column.Min(i => i.Y));
        }
        return top;
    }
}
