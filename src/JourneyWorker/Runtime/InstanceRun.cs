using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys;

namespace JourneyWorker.Runtime;

/// <summary>The state changes of one run of one instance, collected for a single commit.</summary>
public sealed class InstanceRun(JourneyDbContext db, JourneyInstance instance, DateTimeOffset now)
{
    public JourneyDbContext Db { get; } = db;
    public JourneyInstance Instance { get; } = instance;
    public DateTimeOffset Now { get; } = now;
    public long NowMs { get; } = now.ToUnixTimeMilliseconds();
    public List<InstanceStep> NewSteps { get; } = [];

    /// <summary>Appends to the history; tracked at once so that a checkpoint before a send saves it too.</summary>
    public void Step(string nodeId, string outcome, string? detail = null)
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
        Db.InstanceSteps.Add(step);
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
}

/// <summary>What a node needs while it runs: the journey, the person and the events kept on the instance.</summary>
public sealed class RunContext(CompiledJourney journey, Profile profile, InstanceRun run)
{
    public CompiledJourney Journey { get; } = journey;
    public Profile Profile { get; } = profile;
    public InstanceRun Run { get; } = run;

    public JsonObject Events { get; } =
        (JsonNode.Parse(run.Instance.Context) as JsonObject)?["events"] as JsonObject ?? [];
}
