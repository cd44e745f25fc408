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

    /// <summary>The state (status, node) the report's counters hold this instance in: as loaded, then as last committed.</summary>
    public (string Status, string? Node) Counted { get; set; } = (instance.Status, instance.NodeId);
    public IEnumerable<InstanceStep> Unwritten => NewSteps.Skip(Written);

    /// <summary>The outbox rows of this instance, by node; rows with Id 0 are not written yet.</summary>
    public Dictionary<string, OutboxMessage> Outbox { get; } = new(StringComparer.Ordinal);
    public HashSet<OutboxMessage> DirtyOutbox { get; } = [];

    public List<long> RetiredTokens { get; } = [];

    /// <summary>
    /// Attribute writes of updateProfile nodes not written yet, in order. The store applies them to the profile as
    /// stored when it writes the run (so a change made meanwhile by someone else is kept), in the same transaction.
    /// </summary>
    public List<ProfileUpdate> ProfileUpdates { get; } = [];

    /// <summary>Jumps not settled yet: whether the profile enters is decided by the store in the transaction that writes their steps.</summary>
    public List<PendingJump> Jumps { get; } = [];

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

    /// <summary>The message node this run woke at from a send-window wait: its entered step is already recorded.</summary>
    public string? WokeFromWindow { get; set; }

    /// <summary>This run's span (null when nothing is traced): every step is an event on it, every send a span beneath it.</summary>
    public Activity? Activity { get; set; }

    private JsonObject? _context;
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

    /// <summary>The instance's context JSON, parsed once.</summary>
    private JsonObject ContextObject => _context ??= JsonNode.Parse(Instance.Context) as JsonObject ?? [];

    /// <summary>The profile's attribute timeZone (an IANA name, checked where it is used), or null when it has none.</summary>
    public string? ProfileTimeZone
    {
        get
        {
            if (!_zoneRead)
            {
                // Not a string (a number, an object): its JSON text, which no zone is named, so the caller warns about it.
                _zone = JsonNode.Parse(Profile!.Attributes) is JsonObject attributes && attributes["timeZone"] is { } value
                    ? value is JsonValue text && text.TryGetValue<string>(out var zone) ? zone : value.ToJsonString()
                    : null;
                _zoneRead = true;
            }
            return _zone;
        }
    }

    private string? _zone;
    private bool _zoneRead;

    /// <summary>The events kept on the instance (payloads of the events it entered or waited for).</summary>
    public JsonObject Events => _events ??= ContextObject["events"] as JsonObject ?? [];

    /// <summary>The JSON answers of the webhook nodes this instance has called, by node (context member "webhooks").</summary>
    public JsonObject Webhooks => ContextObject["webhooks"] as JsonObject ?? [];

    /// <summary>Whether <see cref="JourneyInstance.Context"/> changed in this run and is still to be written.</summary>
    public bool ContextChanged { get; set; }

    /// <summary>Keeps a webhook's JSON answer as webhooks.&lt;node&gt; (null: forgets an earlier one), written with the run.</summary>
    public void KeepWebhookResponse(string nodeId, JsonNode? json)
    {
        if (ContextObject["webhooks"] is not JsonObject webhooks)
        {
            if (json is null)
            {
                return;
            }
            ContextObject["webhooks"] = webhooks = [];
        }
        if (json is null && !webhooks.ContainsKey(nodeId))
        {
            return;
        }
        if (json is null)
        {
            webhooks.Remove(nodeId);
        }
        else
        {
            webhooks[nodeId] = json.Parent is null ? json : json.DeepClone();
        }
        Instance.Context = ContextObject.ToJsonString();
        ContextChanged = true;
    }

    public InstanceStep Step(string nodeId, string outcome, string? detail = null)
    {
        var step = new InstanceStep
        {
            InstanceId = Instance.Id,
            Seq = Instance.NextSeq++,
            NodeId = nodeId,
            Outcome = outcome,
            At = Now.UtcDateTime,
            Detail = detail,
        };
        NewSteps.Add(step);
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
        return step;
    }

    /// <summary>The type of a node of this run's journey ("unknown" for a node it does not have), a metrics and span label.</summary>
    public string NodeType(string nodeId) => Journey?.Nodes.GetValueOrDefault(nodeId)?.Type ?? "unknown";

    /// <summary>The profile's attributes became <paramref name="attributes"/> by <paramref name="updates"/>: later nodes of this run read them.</summary>
    public void UpdateProfile(string attributes, IEnumerable<ProfileUpdate> updates)
    {
        Profile!.Attributes = attributes;
        ProfileUpdates.AddRange(updates);
        _emailRead = false;
    }

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

/// <summary>One attribute an updateProfile node set: its dotted path and its new value (null: JSON null).</summary>
public sealed record ProfileUpdate(string Path, JsonNode? Value);

/// <summary>A jump node passed by a run: the journey to enter, and the step that will say whether the profile entered.</summary>
public sealed record PendingJump(NodeDefinition Node, Guid Journey, InstanceStep Step);
