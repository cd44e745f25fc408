using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Runtime;

/// <summary>What each node type does to a run, in memory; the batch writes the result.</summary>
public sealed partial class NodeStepper
{
    /// <summary>A waiting instance came due: its wait elapsed or its event/reaction timed out.</summary>
    public static void WakeUp(InstanceRun run)
    {
        var instance = run.Instance;
        var node = instance.NodeId is null ? null : run.Journey!.Nodes.GetValueOrDefault(instance.NodeId);
        var waitedFor = instance.WaitingFor;
        run.WakeUp();
        switch (node?.Type)
        {
            case NodeTypes.Email or NodeTypes.Push when waitedFor == WaitKeys.SendWindow:
                run.WokeFromWindow = node.Id;
                break;
            case NodeTypes.Wait:
                run.Step(node.Id!, StepOutcome.Succeeded, "The wait elapsed.");
                run.MoveTo(node.Next);
                break;
            case NodeTypes.Event:
                run.Step(node.Id!, StepOutcome.TimedOut, $"No '{node.Event}' event arrived in time.");
                run.MoveTo(node.TimeoutNext ?? node.Next);
                break;
            case NodeTypes.Reaction:
                run.Step(node.Id!, StepOutcome.TimedOut, $"No {node.Reaction} reaction arrived in time.");
                run.MoveTo(node.TimeoutNext);
                break;
            default:
                break; // nothing to wake from: carry on at the node
        }
    }

    /// <summary>Moves the run on until it waits, ends or has a message to send.</summary>
    public void Advance(InstanceRun run, IReadOnlyDictionary<string, string> suppressed)
    {
        var instance = run.Instance;
        var journey = run.Journey!;
        while (run.StepsTaken++ < MaxStepsPerRun)
        {
            if (instance.NodeId is null)
            {
                run.End(InstanceStatus.Completed, "completed");
                return;
            }

            if (!journey.Nodes.TryGetValue(instance.NodeId, out var node))
            {
                run.Step(instance.NodeId, StepOutcome.Failed, "The node does not exist in this journey version.");
                run.End(InstanceStatus.Failed, "unknownNode");
                return;
            }

            var outcome = node.Type switch
            {
                NodeTypes.Email or NodeTypes.Push or NodeTypes.Webhook => dispatcher.Prepare(run, node, suppressed),
                NodeTypes.Reaction => EnterReaction(run, node),
                NodeTypes.Event => EnterWait(run, node, WaitKeys.Event(node.Event!), node.Timeout),
                NodeTypes.Wait => EnterTimedWait(run, node),
                NodeTypes.Condition => Branch(run, node),
                NodeTypes.End => End(run, node),
                NodeTypes.UpdateProfile => UpdateProfile(run, node),
                NodeTypes.Jump => Jump(run, node),
                _ => Passed(run, node),
            };
            if (outcome != Flow.Continue)
            {
                return;
            }
        }

        run.End(InstanceStatus.Failed, "tooManySteps");
    }

    private static Flow Passed(InstanceRun run, NodeDefinition node)
    {
        run.Step(node.Id!, StepOutcome.Entered);
        run.Step(node.Id!, StepOutcome.Succeeded);
        run.MoveTo(node.Next);
        return Flow.Continue;
    }

    private static Flow End(InstanceRun run, NodeDefinition node)
    {
        run.Step(node.Id!, StepOutcome.Entered);
        run.Step(node.Id!, StepOutcome.Succeeded);
        run.End(InstanceStatus.Completed, "end");
        return Flow.Stop;
    }

    private Flow EnterTimedWait(InstanceRun run, NodeDefinition node)
    {
        string? detail = null;
        DateTimeOffset until;
        if (node.Until is { At: { } at })
        {
            until = at;
        }
        else if (node.Until is { } local && LocalTimes.TryParseTimeOfDay(local.Time, out var timeOfDay))
        {
            // The next such local time in the zone the wait names (the profile's by default).
            var (zone, warning) = zones.For(local.TimeZone, run);
            until = LocalTimes.Next(run.Now, timeOfDay, zone);
            detail = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Waits until {TimeZoneInfo.ConvertTime(until, zone):ddd yyyy-MM-dd HH:mm} {zone.Id}, {until.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}.");
            if (warning is not null)
            {
                detail += " " + warning;
            }
        }
        else
        {
            until = run.Now + (IsoDuration.TryParse(node.Duration, out var d) ? d : TimeSpan.Zero);
        }
        if (run.Instance.IsTest && run.Journey!.Version.WaitOverride is { } overridden)
        {
            until = run.Now + overridden;
        }
        run.Step(node.Id!, StepOutcome.Entered, detail);
        run.Wait(WaitKeys.Timer, until);
        return Flow.Stop;
    }

    private static Flow EnterWait(InstanceRun run, NodeDefinition node, string waitingFor, string? timeout)
    {
        run.Step(node.Id!, StepOutcome.Entered);
        DateTimeOffset? until = IsoDuration.TryParse(timeout, out var t)
            ? run.Now + run.Journey!.Effective(t, run.Instance.IsTest)
            : null;
        run.Wait(waitingFor, until);
        return Flow.Stop;
    }

    /// <summary>Goes on if the reaction already came; otherwise waits, and one that comes meanwhile is caught inside the commit.</summary>
    private static Flow EnterReaction(InstanceRun run, NodeDefinition node)
    {
        if (run.Reactions.Contains((node.Action!, node.Reaction!)))
        {
            run.Step(node.Id!, StepOutcome.Entered);
            run.Step(node.Id!, StepOutcome.Succeeded, $"{node.Reaction} had already happened.");
            run.MoveTo(node.Next);
            return Flow.Continue;
        }

        run.ReactionCheck = node;
        return EnterWait(run, node, WaitKeys.Reaction(node.Reaction!, node.Action!), node.Timeout);
    }

    private static Flow Branch(InstanceRun run, NodeDefinition node)
    {
        run.Step(node.Id!, StepOutcome.Entered);
        var root = new JsonObject
        {
            ["profile"] = JsonNode.Parse(run.Profile!.Attributes),
            ["events"] = run.Events.DeepClone(),
            ["webhooks"] = run.Webhooks.DeepClone(),
        };
        var bucket = PercentBucket(run.Instance.JourneyId, run.Profile.Id, node.Id!);
        var cumulative = 0.0;
        foreach (var (branch, index) in (node.Branches ?? []).Select((b, i) => (b, i)))
        {
            bool taken;
            if (branch.Percent is { } percent)
            {
                cumulative += percent;
                taken = bucket < cumulative;
            }
            else
            {
                taken = run.Journey!.Conditions.TryGetValue(branch.When!, out var expression)
                    && Expressions.ExpressionEvaluator.IsTrue(expression, root, run.Now);
            }

            if (taken)
            {
                run.Step(node.Id!, StepOutcome.Succeeded, $"branches[{index}] → {branch.Next}");
                run.MoveTo(branch.Next);
                return Flow.Continue;
            }
        }

        run.Step(node.Id!, StepOutcome.Succeeded, $"otherwise → {node.Otherwise ?? "(end)"}");
        run.MoveTo(node.Otherwise);
        return Flow.Continue;
    }

    /// <summary>A stable number in [0, 100) per journey, profile and node, so a split is deterministic and predictable.</summary>
    public static double PercentBucket(Guid journeyId, long profileId, string nodeId)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes($"{journeyId:N}:{profileId}:{nodeId}");
        var hash = System.Security.Cryptography.SHA256.HashData(bytes);
        return BitConverter.ToUInt32(hash, 0) % 10_000 / 100.0;
    }
}
