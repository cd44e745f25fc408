using System.Diagnostics;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Runtime;

/// <summary>
/// One claimed instance inside a batch: its state as loaded, and the changes of this run held in
/// memory until the batch writes them (a checkpoint before a send, the final commit after).
/// </summary>
public sealed class InstanceRun(JourneyInstance instance, DateTimeOffset now)
{
    public JourneyInstance Instance { get; } = instance;
    public DateTimeOffset Now { get; } = now;
    public long NowMs { get; } = now.ToUnixTimeMilliseconds();

    public CompiledJourney? Journey { get; set; }
    public Profile? Profile { get; set; }

    /// <summary>Every step of this run (for metrics); <see cref="Unwritten"/> counts those not yet written.</summary>
    public List<InstanceStep> NewSteps { get; } = [];
    public int Written { get; set; }
    public IEnumerable<InstanceStep> Unwritten => NewSteps.Skip(Written);

    /// <summary>The outbox rows of this instance, by node; rows with Id 0 are not written yet.</summary>
    public Dictionary<string, OutboxMessage> Outbox { get; } = new(StringComparer.Ordinal);
    public HashSet<OutboxMessage> DirtyOutbox { get; } = [];

    public List<long> RetiredTokens { get; } = [];

    /// <summary>Reactions to this instance's messages known when the batch was read: (message node, kind).</summary>
    public HashSet<(string NodeId, string Kind)> Reactions { get; } = [];

    /// <summary>The send this run waits for; written as a checkpoint before it leaves.</summary>
    public PreparedSend? PendingSend { get; set; }

    /// <summary>The reaction node this run started waiting at: whether the reaction already came is decided inside the commit.</summary>
    public NodeDefinition? ReactionCheck { get; set; }

    /// <summary>Another worker, a stop or a deletion took the instance: nothing more of this run is written or sent.</summary>
    public bool Lost { get; set; }

    /// <summary>The run is written and its lease given up: nothing more happens to it in this batch.</summary>
    public bool Released { get; set; }
    public int StepsTaken { get; set; }

    /// <summary>This run's span (null when nothing is traced): every step is an event on it, every send a span beneath it.</summary>
    public Activity? Activity { get; set; }

    private JsonObject? _events;
    private string? _email;
    private bool _emailRead;

    /// <summary>The profile's e-mail address (read once: consent, suppression and the send all need it).</summary>
    public string? EmailAddress
    {
        get
        {
            if (!_emailRead)
            {
                _email = ProfileAddresses.Email(Profile!);
                _emailRead = true;
            }
            return _email;
        }
    }

    /// <summary>The events kept on the instance (payloads of the events it entered or waited for).</summary>
    public JsonObject Events => _events ??=
        (JsonNode.Parse(Instance.Context) as JsonObject)?["events"] as JsonObject ?? [];

    public void Step(string nodeId, string outcome, string? detail = null)
    {
        NewSteps.Add(new InstanceStep
        {
            InstanceId = Instance.Id,
            Seq = Instance.NextSeq++,
            NodeId = nodeId,
            Outcome = outcome,
            At = Now.UtcDateTime,
            Detail = detail,
        });
        if (Activity is { IsAllDataRequested: true } activity)
        {
            activity.AddEvent(new ActivityEvent("step", tags: new ActivityTagsCollection
            {
                ["journeyworker.node.id"] = nodeId,
                ["journeyworker.node.type"] = NodeType(nodeId),
                ["journeyworker.outcome"] = outcome,
                ["journeyworker.detail"] = detail,
            }));
        }
    }

    /// <summary>The type of a node of this run's journey ("unknown" for a node it does not have), a metrics and span label.</summary>
    public string NodeType(string nodeId) => Journey?.Nodes.GetValueOrDefault(nodeId)?.Type ?? "unknown";

    public void End(string status, string reason)
    {
        Instance.Status = status;
        Instance.EndReason = reason;
        Instance.EndedAt = Now.UtcDateTime;
        Instance.DueAt = null;
        Instance.WaitingFor = null;
    }

    /// <summary>Waits until <paramref name="until"/> (or only the journey deadline); the deadline always bounds a wait.</summary>
    public void Wait(string waitingFor, DateTimeOffset? until)
    {
        Instance.Status = InstanceStatus.Waiting;
        Instance.WaitingFor = waitingFor;
        var due = until?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        Instance.DueAt = Math.Min(due, Instance.DeadlineAt);
    }

    /// <summary>Stays on the current node and runs it again later (a send to retry).</summary>
    public void RetryAt(DateTimeOffset when)
    {
        Instance.Status = InstanceStatus.Active;
        Instance.DueAt = Math.Min(when.ToUnixTimeMilliseconds(), Instance.DeadlineAt);
    }

    /// <summary>Moves on to <paramref name="next"/> now, in a later claim (a reaction found already there at commit).</summary>
    public void ContinueLater(string? next)
    {
        Instance.Status = InstanceStatus.Active;
        Instance.WaitingFor = null;
        Instance.NodeId = next;
        Instance.DueAt = NowMs;
    }

    /// <summary>Goes on at <paramref name="node"/> (null: the journey is complete) within this run.</summary>
    public void MoveTo(string? node) => Instance.NodeId = node;

    /// <summary>A waiting instance came due (its wait elapsed or timed out): it runs again from its node.</summary>
    public void WakeUp()
    {
        Instance.Status = InstanceStatus.Active;
        Instance.WaitingFor = null;
    }

    /// <summary>The reaction <paramref name="node"/> waits for turned out to be there already when the wait was written.</summary>
    public void ReactionAlreadyCame(NodeDefinition node)
    {
        Step(node.Id!, StepOutcome.Succeeded, $"{node.Reaction} had already happened.");
        ContinueLater(node.Next);
    }

    public void Touch(OutboxMessage outbox) => DirtyOutbox.Add(outbox);
}
