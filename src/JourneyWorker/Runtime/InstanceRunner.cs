using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime;

/// <summary>
/// Runs one claimed instance from where it stands until it waits or ends, then commits its state,
/// its history and the release of its lease in one transaction. A commit is accepted only while
/// the lease is still ours (LeaseOwner is a concurrency token), so two workers never both advance it.
/// </summary>
public sealed partial class InstanceRunner(
    IServiceScopeFactory scopes,
    JourneyCatalog catalog,
    MessageDispatcher dispatcher,
    TimeProvider time,
    JourneyMetrics metrics,
    WriteGate writes,
    ILogger<InstanceRunner> logger)
{
    private const int MaxStepsPerRun = 200;

    public async Task RunAsync(long instanceId, string owner, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        var instance = await db.JourneyInstances.FirstOrDefaultAsync(i => i.Id == instanceId && i.LeaseOwner == owner, cancellationToken);
        if (instance is null)
        {
            return; // the lease was lost or the instance forgotten meanwhile
        }

        var run = new InstanceRun(db, instance, time.GetUtcNow());
        try
        {
            await ExecuteAsync(run, cancellationToken);
        }
        catch (DbUpdateException e)
        {
            // Whoever took the instance meanwhile (a stop, a resume after our lease ran out, another
            // worker) also wrote its history, so our commit may fail on the concurrency token or on
            // the unique (instance, seq) of a step. Either way the instance is no longer ours.
            if (e is not DbUpdateConcurrencyException && await StillOwnedAsync(instanceId, owner, cancellationToken))
            {
                throw;
            }
            LogLeaseLost(logger, instanceId);
            return;
        }

        foreach (var step in run.NewSteps)
        {
            metrics.StepExecuted(step.Outcome);
        }
    }

    private async Task<bool> StillOwnedAsync(long instanceId, string owner, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        return await db.JourneyInstances.AnyAsync(i => i.Id == instanceId && i.LeaseOwner == owner, cancellationToken);
    }

    private async Task ExecuteAsync(InstanceRun run, CancellationToken cancellationToken)
    {
        var db = run.Db;
        var instance = run.Instance;
        if (instance.DueAt is { } due)
        {
            metrics.TimerLateness(run.Now - DateTimeOffset.FromUnixTimeMilliseconds(due));
        }

        var journey = await catalog.GetAsync(db, instance.JourneyVersionId, cancellationToken);
        if (journey is null || journey.Version.Status == JourneyStatus.Stopped)
        {
            run.End(InstanceStatus.Exited, "journeyStopped");
        }
        else if (run.NowMs >= instance.DeadlineAt)
        {
            run.Step(instance.NodeId ?? "-", StepOutcome.Exited, "The journey timeout was reached.");
            run.End(InstanceStatus.Exited, "journeyTimeout");
        }
        else
        {
            var profile = await db.Profiles.AsNoTracking().Include(p => p.Identities).Include(p => p.PushTokens)
                .AsSplitQuery().FirstOrDefaultAsync(p => p.Id == instance.ProfileId, cancellationToken);
            if (profile is null)
            {
                run.End(InstanceStatus.Exited, "profileDeleted");
            }
            else
            {
                var context = new RunContext(journey, profile, run);
                if (instance.Status == InstanceStatus.Waiting)
                {
                    WakeUp(context);
                }
                await AdvanceAsync(context, cancellationToken);
            }
        }

        instance.LeaseOwner = null;
        instance.LeaseUntil = null;
        await writes.RunAsync(() => db.SaveChangesAsync(cancellationToken), cancellationToken);
    }

    /// <summary>A waiting instance came due: its wait elapsed or its event/reaction timed out.</summary>
    private static void WakeUp(RunContext c)
    {
        var instance = c.Run.Instance;
        var node = instance.NodeId is null ? null : c.Journey.Nodes.GetValueOrDefault(instance.NodeId);
        instance.Status = InstanceStatus.Active;
        instance.WaitingFor = null;
        switch (node?.Type)
        {
            case NodeTypes.Wait:
                c.Run.Step(node.Id!, StepOutcome.Succeeded, "The wait elapsed.");
                instance.NodeId = node.Next;
                break;
            case NodeTypes.Event:
                c.Run.Step(node.Id!, StepOutcome.TimedOut, $"No '{node.Event}' event arrived in time.");
                instance.NodeId = node.TimeoutNext ?? node.Next;
                break;
            case NodeTypes.Reaction:
                c.Run.Step(node.Id!, StepOutcome.TimedOut, $"No {node.Reaction} reaction arrived in time.");
                instance.NodeId = node.TimeoutNext;
                break;
            default:
                break; // nothing to wake from: carry on at the node
        }
    }

    private async Task AdvanceAsync(RunContext c, CancellationToken cancellationToken)
    {
        var instance = c.Run.Instance;
        for (var i = 0; i < MaxStepsPerRun; i++)
        {
            if (instance.NodeId is null)
            {
                c.Run.End(InstanceStatus.Completed, "completed");
                return;
            }

            if (!c.Journey.Nodes.TryGetValue(instance.NodeId, out var node))
            {
                c.Run.Step(instance.NodeId, StepOutcome.Failed, "The node does not exist in this journey version.");
                c.Run.End(InstanceStatus.Failed, "unknownNode");
                return;
            }

            var outcome = node.Type switch
            {
                NodeTypes.Email or NodeTypes.Push => await dispatcher.SendAsync(c, node, cancellationToken),
                NodeTypes.Reaction => await EnterReactionAsync(c, node, cancellationToken),
                NodeTypes.Event => EnterWait(c, node, $"event:{node.Event}", node.Timeout),
                NodeTypes.Wait => EnterTimedWait(c, node),
                NodeTypes.Condition => Branch(c, node),
                NodeTypes.End => End(c, node),
                _ => Passed(c, node),
            };
            if (outcome == Flow.Stop)
            {
                return;
            }
        }

        c.Run.End(InstanceStatus.Failed, "tooManySteps");
    }

    private static Flow Passed(RunContext c, NodeDefinition node)
    {
        c.Run.Step(node.Id!, StepOutcome.Entered);
        c.Run.Step(node.Id!, StepOutcome.Succeeded);
        c.Run.Instance.NodeId = node.Next;
        return Flow.Continue;
    }

    private static Flow End(RunContext c, NodeDefinition node)
    {
        c.Run.Step(node.Id!, StepOutcome.Entered);
        c.Run.Step(node.Id!, StepOutcome.Succeeded);
        c.Run.End(InstanceStatus.Completed, "end");
        return Flow.Stop;
    }

    private static Flow EnterTimedWait(RunContext c, NodeDefinition node)
    {
        c.Run.Step(node.Id!, StepOutcome.Entered);
        var until = node.Until ?? c.Run.Now + (IsoDuration.TryParse(node.Duration, out var d) ? d : TimeSpan.Zero);
        if (c.Run.Instance.IsTest && c.Journey.Version.WaitOverride is { } overridden)
        {
            until = c.Run.Now + overridden;
        }
        c.Run.Wait("wait", until);
        return Flow.Stop;
    }

    private static Flow EnterWait(RunContext c, NodeDefinition node, string waitingFor, string? timeout)
    {
        c.Run.Step(node.Id!, StepOutcome.Entered);
        DateTimeOffset? until = IsoDuration.TryParse(timeout, out var t)
            ? c.Run.Now + c.Journey.Effective(t, c.Run.Instance.IsTest)
            : null;
        c.Run.Wait(waitingFor, until);
        return Flow.Stop;
    }

    private static async Task<Flow> EnterReactionAsync(RunContext c, NodeDefinition node, CancellationToken cancellationToken)
    {
        // The reaction may have come in before the instance reached this node.
        var instanceId = c.Run.Instance.Id;
        var already = await c.Run.Db.MessageReactions.AnyAsync(r => r.Kind == node.Reaction
            && c.Run.Db.OutboxMessages.Any(m => m.Id == r.OutboxMessageId && m.InstanceId == instanceId && m.NodeId == node.Action), cancellationToken);
        if (!already)
        {
            return EnterWait(c, node, ReactionWait(node.Reaction!, node.Action!), node.Timeout);
        }

        c.Run.Step(node.Id!, StepOutcome.Entered);
        c.Run.Step(node.Id!, StepOutcome.Succeeded, $"{node.Reaction} had already happened.");
        c.Run.Instance.NodeId = node.Next;
        return Flow.Continue;
    }

    public static string ReactionWait(string reaction, string actionNode) => $"reaction:{reaction}:{actionNode}";

    private static Flow Branch(RunContext c, NodeDefinition node)
    {
        c.Run.Step(node.Id!, StepOutcome.Entered);
        var root = new JsonObject
        {
            ["profile"] = JsonNode.Parse(c.Profile.Attributes),
            ["events"] = c.Events.DeepClone(),
        };
        var bucket = PercentBucket(c.Run.Instance.JourneyId, c.Profile.Id, node.Id!);
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
                taken = c.Journey.Conditions.TryGetValue(branch.When!, out var expression)
                    && Expressions.ExpressionEvaluator.IsTrue(expression, root, c.Run.Now);
            }

            if (taken)
            {
                c.Run.Step(node.Id!, StepOutcome.Succeeded, $"branches[{index}] → {branch.Next}");
                c.Run.Instance.NodeId = branch.Next;
                return Flow.Continue;
            }
        }

        c.Run.Step(node.Id!, StepOutcome.Succeeded, $"otherwise → {node.Otherwise ?? "(end)"}");
        c.Run.Instance.NodeId = node.Otherwise;
        return Flow.Continue;
    }

    /// <summary>A stable number in [0, 100) per journey, profile and node, so a split is deterministic and predictable.</summary>
    public static double PercentBucket(Guid journeyId, long profileId, string nodeId)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes($"{journeyId:N}:{profileId}:{nodeId}");
        var hash = System.Security.Cryptography.SHA256.HashData(bytes);
        return BitConverter.ToUInt32(hash, 0) % 10_000 / 100.0;
    }


    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {InstanceId}: lease lost before commit; another worker owns it now")]
    private static partial void LogLeaseLost(ILogger logger, long instanceId);
}

public enum Flow
{
    Continue,
    Stop,
}
