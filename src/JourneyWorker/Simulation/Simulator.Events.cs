using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Simulation;

/// <summary>What comes from outside an instance: scripted events and the seeded reactions to its messages.</summary>
public sealed partial class Simulator
{
    /// <summary>Queues the reactions the seeded draw gives the recipient of a message, each some minutes after it.</summary>
    private void ScheduleReactions(SimulatedInstance simulated, string nodeId, string channel, long sentMs)
    {
        var (seed, rates, profileId) = (_input.Seed, _input.Rates, simulated.Profile.Id);
        void React(string kind, double rate)
        {
            if (SimulationDraws.Reacts(seed, profileId, nodeId, rate))
            {
                var at = sentMs + (long)SimulationDraws.ReactionDelay(seed, profileId, nodeId, kind).TotalMilliseconds;
                At(at, () => Reacted(simulated, nodeId, kind, at));
            }
        }
        if (channel == NodeTypes.Email)
        {
            React(ReactionKinds.EmailOpened, rates.EmailOpened);
            React(ReactionKinds.EmailClicked, rates.EmailClicked);
        }
        else if (channel == NodeTypes.Push)
        {
            React(ReactionKinds.PushOpened, rates.PushOpened);
        }
    }

    /// <summary>A reaction is recorded once; an instance waiting for it at a reaction node goes on along next (ReactionService).</summary>
    private void Reacted(SimulatedInstance simulated, string nodeId, string kind, long atMs)
    {
        if (!simulated.Reactions.Add((nodeId, kind)))
        {
            return;
        }
        if (IsWaitingFor(simulated, WaitKeys.Reaction(kind, nodeId), atMs))
        {
            Resume(simulated, atMs, null, null, $"{kind} on {nodeId}");
        }
    }

    /// <summary>
    /// A scripted event reaches its profiles as intake routes it: exits and goals first, then an instance waiting for it
    /// resumes, then a journey that starts with it admits the profile.
    /// </summary>
    private void Deliver(SimulatedEvent e)
    {
        var atMs = (_input.Start + e.At).ToUnixTimeMilliseconds();
        var now = DateTimeOffset.FromUnixTimeMilliseconds(atMs);
        foreach (var profile in e.Profiles)
        {
            if (!SimulationDraws.Takes(_input.Seed, profile.Id, e.Index, e.Share))
            {
                continue;
            }
            foreach (var name in e.Matched)
            {
                if (_current.TryGetValue(profile.Id, out var simulated) && simulated.IsRunning && Criterion(name, e.Payload, now, simulated) is { } criterion)
                {
                    Exit(simulated, atMs, criterion, $"'{name}' event met {(criterion.StartsWith("goal:", StringComparison.Ordinal) ? "the goal" : "an exit criterion")}.");
                }
            }
            foreach (var name in e.Matched)
            {
                if (_current.TryGetValue(profile.Id, out var simulated) && IsWaitingFor(simulated, WaitKeys.Event(name), atMs))
                {
                    Resume(simulated, atMs, name, e.Payload, $"'{name}' event (simulated)");
                }
                if (Journey.Start is { Type: NodeTypes.Event } start && start.Event == name)
                {
                    var context = new JsonObject { ["events"] = new JsonObject { [name] = e.Payload.DeepClone() } }.ToJsonString();
                    Admit(profile, atMs, context);
                }
            }
        }
    }

    /// <summary>The name of the journey-level criterion (an exit, or a goal that exits) the event meets for the instance, or null.</summary>
    private string? Criterion(string eventName, JsonObject payload, DateTimeOffset now, SimulatedInstance simulated)
    {
        bool Meets(string? when) => when is null
            || (ExpressionParser.TryParse(when, out var expression, out _) && ExpressionEvaluator.IsTrue(expression!, payload, now));

        if ((Journey.Definition.Exit ?? []).Any(x => x.Event == eventName && Meets(x.When)))
        {
            return $"exit:{eventName}";
        }
        if (Journey.Definition.Goal is { Exit: true } goal && goal.Event == eventName && Meets(goal.When)
            && IsoDuration.TryParse(goal.Within, out var within) && simulated.Instance.EnteredAt >= (now - within).UtcDateTime)
        {
            return $"goal:{eventName}";
        }
        return null;
    }

    /// <summary>Whether the instance waits for exactly <paramref name="waitingFor"/> and its wait has not run out (the store's conditional resume).</summary>
    private static bool IsWaitingFor(SimulatedInstance simulated, string waitingFor, long atMs) =>
        simulated.Instance is { Status: InstanceStatus.Waiting } instance && instance.WaitingFor == waitingFor && instance.DueAt > atMs;

    /// <summary>
    /// Moves a waiting instance on to its node's next, keeping the event's payload as events.&lt;name&gt;, with a succeeded step
    /// at the wait node (the store's resume), and runs it at once (as the poller would, woken by the resume).
    /// </summary>
    private void Resume(SimulatedInstance simulated, long atMs, string? eventName, JsonObject? payload, string detail)
    {
        var instance = simulated.Instance;
        var node = Journey.Nodes[instance.NodeId!];
        if (eventName is not null)
        {
            var context = JsonNode.Parse(instance.Context) as JsonObject ?? [];
            if (context["events"] is not JsonObject events)
            {
                context["events"] = events = [];
            }
            events[eventName] = payload!.DeepClone();
            instance.Context = context.ToJsonString();
        }
        instance.Status = InstanceStatus.Active;
        instance.WaitingFor = null;
        instance.NodeId = node.Next;
        instance.DueAt = atMs;
        simulated.Version++;
        var run = NewRun(simulated, atMs);
        run.Step(node.Id!, StepOutcome.Succeeded, detail);
        Guarded(run, () => stepper.Start(run, _input.Suppressed));
        Settle(simulated, run);
    }

    /// <summary>Ends a running instance wherever it is, with an exited step there (the store's exit).</summary>
    private void Exit(SimulatedInstance simulated, long atMs, string reason, string detail)
    {
        simulated.Version++;
        var run = NewRun(simulated, atMs);
        run.Step(simulated.Instance.NodeId ?? "-", StepOutcome.Exited, detail);
        run.End(InstanceStatus.Exited, reason);
        Settle(simulated, run);
    }
}
