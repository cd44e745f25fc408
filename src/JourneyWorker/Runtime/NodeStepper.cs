using JourneyWorker.Channels;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Runtime;

/// <summary>
/// The engine's node semantics on one run, in memory and without a database: where a due instance goes from where it
/// stands, until it waits, ends or has a message to send. The live runner loads and writes the runs around it; the
/// simulation drives the same code on a virtual clock.
/// </summary>
public sealed partial class NodeStepper(MessageDispatcher dispatcher, TemplateRenderer templates, ProfileTimeZones zones)
{
    private const int MaxStepsPerRun = 200;

    /// <summary>A claimed instance runs from where it stands: ended if its journey stopped or its time ran out, else on.</summary>
    public void Start(InstanceRun run, IReadOnlyDictionary<string, string> suppressed)
    {
        var instance = run.Instance;
        if (run.Journey is null || run.Journey.Version.Status == JourneyStatus.Stopped)
        {
            run.End(InstanceStatus.Exited, "journeyStopped");
        }
        else if (run.NowMs >= instance.DeadlineAt)
        {
            run.Step(instance.NodeId ?? "-", StepOutcome.Exited, "The journey timeout was reached.");
            run.End(InstanceStatus.Exited, "journeyTimeout");
        }
        else if (run.Profile is null)
        {
            run.End(InstanceStatus.Exited, "profileDeleted");
        }
        else
        {
            if (instance.Status == InstanceStatus.Waiting)
            {
                WakeUp(run);
            }
            Advance(run, suppressed);
        }
    }

    /// <summary>The pending send went out (or did not): the run records how, and goes on if it may.</summary>
    public void Sent(InstanceRun run, SendResult result, IReadOnlyDictionary<string, string> suppressed)
    {
        if (dispatcher.Complete(run, result) == Flow.Continue)
        {
            Advance(run, suppressed);
        }
    }

    /// <summary>A frequency rule capped the pending send: it is skipped and the run goes on (to cappedNext, else next).</summary>
    public void Capped(InstanceRun run, string rule, IReadOnlyDictionary<string, string> suppressed)
    {
        dispatcher.Capped(run, rule);
        Advance(run, suppressed);
    }

    /// <summary>One instance's unexpected failure (a bug, a corrupt row) ends that instance, with the error in its history.</summary>
    public static void FailInternally(InstanceRun run, Exception e)
    {
        run.PendingSend = null;
        run.ReactionCheck = null;
        run.Step(run.Instance.NodeId ?? "-", StepOutcome.Failed, $"Internal error: {e.GetType().Name}: {e.Message}");
        run.End(InstanceStatus.Failed, "internalError");
    }
}
