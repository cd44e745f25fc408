using JourneyWorker.Data;
using JourneyWorker.Journeys;

namespace JourneyWorker.Dashboard.Diagram;

/// <summary>Where an instance went, read from its steps: each move from one node to the next is an edge it took.</summary>
public static class InstancePath
{
    public static DiagramPath Of(DiagramGraph graph, InstanceResponse instance)
    {
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        var edges = new HashSet<DiagramEdge>();
        var defined = graph.Nodes.Where(n => !n.Missing).Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        StepResponse? previous = null;
        foreach (var step in instance.Steps.OrderBy(s => s.Seq).Where(s => defined.Contains(s.Node)))
        {
            nodes.Add(step.Node);
            if (previous is not null && previous.Node != step.Node && Taken(graph, previous, step.Node) is { } edge)
            {
                edges.Add(edge);
            }
            previous = step;
        }
        var running = instance.Status is InstanceStatus.Active or InstanceStatus.Waiting;
        return new DiagramPath(nodes, edges, running ? instance.Node : null);
    }

    /// <summary>
    /// The edge from the node of <paramref name="last"/> to <paramref name="to"/>. When two edges join the same nodes, the
    /// outcome of the last step there tells which: a timeout took timeoutNext, a failure errorNext, anything else the other.
    /// </summary>
    private static DiagramEdge? Taken(DiagramGraph graph, StepResponse last, string to)
    {
        var candidates = graph.Edges.Where(e => e.From == last.Node && e.To == to).ToList();
        if (candidates.Count <= 1)
        {
            return candidates.FirstOrDefault();
        }
        var field = last.Outcome switch
        {
            StepOutcome.TimedOut => "timeoutNext",
            StepOutcome.Failed => "errorNext",
            _ => null,
        };
        return candidates.FirstOrDefault(e => e.Field == field)
            ?? candidates.FirstOrDefault(e => e.Field is not ("timeoutNext" or "errorNext"))
            ?? candidates[0];
    }
}
