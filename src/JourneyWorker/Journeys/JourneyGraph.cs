using JourneyWorker.Journeys.Model;
namespace JourneyWorker.Journeys;

/// <summary>The edges of a journey: next, timeoutNext, errorNext, cappedNext, branches and otherwise.</summary>
public sealed class JourneyGraph(IReadOnlyDictionary<string, NodeDefinition> nodes)
{
    public static IEnumerable<(string Field, string Target)> Targets(NodeDefinition node)
    {
        if (node.Next is { } next)
        {
            yield return ("next", next);
        }
        if (node.TimeoutNext is { } timeoutNext)
        {
            yield return ("timeoutNext", timeoutNext);
        }
        if (node.ErrorNext is { } errorNext)
        {
            yield return ("errorNext", errorNext);
        }
        if (node.CappedNext is { } cappedNext)
        {
            yield return ("cappedNext", cappedNext);
        }
        foreach (var (branch, i) in (node.Branches ?? []).Select((b, i) => (b, i)))
        {
            if (branch.Next is { } target)
            {
                yield return ($"branches[{i}].next", target);
            }
        }
        if (node.Otherwise is { } otherwise)
        {
            yield return ("otherwise", otherwise);
        }
    }

    private IEnumerable<string> Successors(string id) =>
        nodes.TryGetValue(id, out var node)
            ? Targets(node).Select(t => t.Target).Where(nodes.ContainsKey).Distinct()
            : [];

    public HashSet<string> Reachable(string start)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { start };
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var id))
        {
            foreach (var next in Successors(id).Where(seen.Add))
            {
                queue.Enqueue(next);
            }
        }
        return seen;
    }

    public Dictionary<string, List<string>> Predecessors()
    {
        var result = nodes.Keys.ToDictionary(k => k, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var id in nodes.Keys)
        {
            foreach (var next in Successors(id))
            {
                result[next].Add(id);
            }
        }
        return result;
    }

    /// <summary>One cycle as the list of its nodes, or null when the graph is acyclic (self-loops are reported elsewhere).</summary>
    public List<string>? FindCycle()
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the stack, 2 = done
        var path = new List<string>();
        List<string>? Visit(string id)
        {
            state[id] = 1;
            path.Add(id);
            foreach (var next in Successors(id).Where(n => n != id))
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return path[path.IndexOf(next)..];
                }
                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }
            path.RemoveAt(path.Count - 1);
            state[id] = 2;
            return null;
        }

        foreach (var id in nodes.Keys)
        {
            if (state.GetValueOrDefault(id) == 0 && Visit(id) is { } cycle)
            {
                return cycle;
            }
        }
        return null;
    }
}
