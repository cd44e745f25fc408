using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Simulation;

/// <summary>The simulation's counts as it goes, and the answer they make.</summary>
internal sealed class SimulationTally(SimulationInput input)
{
    private const long DayMs = 24 * 60 * 60 * 1000;
    private static readonly string[] Outcomes = [StepOutcome.Entered, StepOutcome.Succeeded, StepOutcome.Failed, StepOutcome.TimedOut, StepOutcome.Skipped];

    private readonly Dictionary<string, int[]> _nodes = input.Journey.Nodes.Keys.ToDictionary(id => id, _ => new int[Outcomes.Length], StringComparer.Ordinal);
    private readonly Dictionary<string, int> _messages = new(StringComparer.Ordinal);
    private readonly SortedDictionary<int, (int Email, int Push)> _days = [];
    private readonly Dictionary<FrequencyCap, int> _capped = [];
    private readonly Dictionary<string, int> _deferred = new(StringComparer.Ordinal);

    /// <summary>One step of an instance: counted for its node, and the node added to the instance's path when it is a new one.</summary>
    public void Count(SimulatedInstance simulated, string nodeId, string outcome)
    {
        if (!_nodes.TryGetValue(nodeId, out var counts))
        {
            return;
        }
        var index = Array.IndexOf(Outcomes, outcome);
        if (index >= 0)
        {
            counts[index]++;
        }
        if (simulated.Path.Count == 0 || simulated.Path[^1] != nodeId)
        {
            simulated.Path.Add(nodeId);
        }
    }

    public void Sent(string channel, long sinceStartMs)
    {
        _messages[channel] = _messages.GetValueOrDefault(channel) + 1;
        if (channel is NodeTypes.Email or NodeTypes.Push)
        {
            var day = (int)(sinceStartMs / DayMs);
            var (email, push) = _days.GetValueOrDefault(day);
            _days[day] = channel == NodeTypes.Email ? (email + 1, push) : (email, push + 1);
        }
    }

    public void Capped(FrequencyCap rule) => _capped[rule] = _capped.GetValueOrDefault(rule) + 1;

    public void Deferred(string nodeId) => _deferred[nodeId] = _deferred.GetValueOrDefault(nodeId) + 1;

    public SimulationResponse Result(IReadOnlyList<SimulatedInstance> instances)
    {
        var nodes = _nodes.ToDictionary(n => n.Key, n => new SimulatedNode(n.Value[0], n.Value[1], n.Value[2], n.Value[3], n.Value[4]), StringComparer.Ordinal);
        var paths = instances.GroupBy(i => string.Join('\u001f', i.Path), StringComparer.Ordinal)
            .Select(g => new SimulatedPath(g.First().Path, g.Count()))
            .OrderByDescending(p => p.Profiles).ThenBy(p => string.Join(' ', p.Nodes), StringComparer.Ordinal)
            .ToList();
        var windows = input.Journey.Nodes.Values
            .Where(n => n.SendWindow is not null && SendWindow.TryParse(n.SendWindow, out _))
            .Select(n => new SimulatedWindow(n.Id!, SendWindow.TryParse(n.SendWindow, out var w) ? w!.ToString() : "", _deferred.GetValueOrDefault(n.Id!)))
            .ToList();
        return new SimulationResponse(
            nodes,
            paths,
            new SimulatedMessages(_messages.GetValueOrDefault(NodeTypes.Email), _messages.GetValueOrDefault(NodeTypes.Push), _messages.GetValueOrDefault(NodeTypes.Webhook)),
            [.. _days.Select(d => new SimulatedDay(d.Key, d.Value.Email, d.Value.Push))],
            instances.Count(i => i.IsRunning),
            input.Profiles.Count,
            [.. input.Caps.Select(c => new SimulatedCap(c.ToString(), _capped.GetValueOrDefault(c)))],
            windows);
    }
}
