using System.Diagnostics;
using System.Runtime.CompilerServices;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Runtime;

/// <summary>
/// Runs a batch of claimed instances from where each stands until it waits or ends. The batch is read
/// in a few set-based queries, advanced in memory, and written in as few transactions as the sends
/// allow: one checkpoint per round of sends (every message's outbox row is durable before it leaves)
/// and one final commit that also releases the leases. A write is accepted only while the lease is
/// still ours, so two workers never both advance an instance.
/// </summary>
public sealed partial class InstanceRunner(
    InstanceStore store,
    MessageDispatcher dispatcher,
    Channels.Templates.TemplateRenderer templates,
    ProfileTimeZones zones,
    TimeProvider time,
    JourneyTelemetry telemetry,
    IOptions<RuntimeOptions> options,
    ILogger<InstanceRunner> logger)
{
    // What each node does is decided in memory by the stepper (which the simulation shares); this class loads, writes and sends.
    private readonly NodeStepper _stepper = new(dispatcher, templates, zones);

    /// <summary>A stable number in [0, 100) per journey, profile and node (see <see cref="NodeStepper.PercentBucket"/>).</summary>
    public static double PercentBucket(Guid journeyId, long profileId, string nodeId) => NodeStepper.PercentBucket(journeyId, profileId, nodeId);

    /// <summary>Runs one claimed instance (a batch of one).</summary>
    public Task<int> RunAsync(long instanceId, string owner, CancellationToken cancellationToken) =>
        RunBatchAsync([instanceId], owner, cancellationToken);

    /// <summary>Runs claimed instances; returns how many were still ours to run.</summary>
    public async Task<int> RunBatchAsync(IReadOnlyCollection<long> instanceIds, string owner, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var batch = await session.LoadBatchAsync(instanceIds, owner, time.GetUtcNow(), cancellationToken);
        var runs = batch.Runs;
        try
        {
            return await RunAsync(session, batch, owner, cancellationToken);
        }
        finally
        {
            foreach (var run in runs)
            {
                run.Activity?.Dispose();
            }
        }
    }

    private async Task<int> RunAsync(StoreSession session, InstanceBatch batch, string owner, CancellationToken cancellationToken)
    {
        var runs = batch.Runs;
        foreach (var run in runs)
        {
            run.Activity = StartActivity(run);
            Guarded(run, () => Start(run, batch.SuppressedAddresses));
        }

        // Rounds of sends, pipelined: while one round of messages leaves, one write records how the previous
        // round went (releasing the runs that are done) and checkpoints the next round. Every message's outbox
        // row is durable before it leaves, and a crash repeats at most two rounds of sends (same Message-IDs).
        var roundSize = options.Value.Parallelism * 4;
        var next = 0;
        List<InstanceRun> TakeFresh()
        {
            var fresh = new List<InstanceRun>(roundSize);
            for (; fresh.Count < roundSize && next < runs.Count; next++)
            {
                if (runs[next].PendingSend is not null && !runs[next].Lost)
                {
                    fresh.Add(runs[next]);
                }
            }
            return fresh;
        }
        static List<InstanceRun> Ready(List<InstanceRun> written) => written.Where(r => r.PendingSend is not null && !r.Lost).ToList();

        // Every write also moves the lease of every claim the batch still holds (a long batch keeps its claims while it
        // makes progress), and a message leaves only while the claims are surely still held (see SendAllAsync).
        var lease = (long)options.Value.LeaseDuration.TotalMilliseconds;
        var held = new StrongBox<long>(runs.Count == 0 ? long.MinValue : runs.Min(r => r.Instance.LeaseUntil ?? long.MinValue));
        // A send a frequency rule caps at its checkpoint is skipped there, and its run moves on at once.
        var caps = batch.Caps.Count == 0 ? null : new CapCheck(batch.Caps, (run, rule) => Guarded(run, () =>
            _stepper.Capped(run, rule.ToString(), batch.SuppressedAddresses)));
        async Task WriteAsync(IReadOnlyCollection<InstanceRun> toWrite)
        {
            var until = time.GetUtcNow().ToUnixTimeMilliseconds() + lease;
            // The other claims move on once a quarter of a lease has passed since they last did, not at every write:
            // renewing them each round rewrote every held row again and again (on PostgreSQL a fifth of the server's work
            // per e-mail), while a quarter keeps them at least three quarters of a lease ahead of every write.
            var renew = until - lease / 4 >= Interlocked.Read(ref held.Value);
            await session.WriteRunsAsync(toWrite, renew ? runs : [], owner, until, caps, cancellationToken);
            if (renew)
            {
                Interlocked.Exchange(ref held.Value, until);
            }
        }

        var first = TakeFresh();
        if (first.Count > 0)
        {
            await WriteAsync(first);
        }
        var ready = Ready(first);
        List<InstanceRun> done = [];
        // A round may leave nothing to send (every message capped at its checkpoint, or every claim lost): the runs not
        // taken yet still go through a round of their own.
        bool FreshLeft() => runs.Skip(next).Any(r => r.PendingSend is not null && !r.Lost);
        while (ready.Count > 0 || done.Any(r => r.PendingSend is not null && !r.Lost) || FreshLeft())
        {
            var toWrite = done.Concat(TakeFresh()).ToList();
            var sending = SendAllAsync(ready, held, lease / 2, cancellationToken);
            var writing = toWrite.Count > 0 ? WriteAsync(toWrite) : Task.CompletedTask;
            await Task.WhenAll(sending, writing);
            var results = await sending;
            for (var i = 0; i < ready.Count; i++)
            {
                var run = ready[i];
                if (results[i] is not { } result)
                {
                    // Not sent: the claim may run out before the message would be out. Whoever claims the instance
                    // next sends it (same Message-ID); this batch writes nothing more of it.
                    run.Lost = true;
                    continue;
                }
                Guarded(run, () => _stepper.Sent(run, result, batch.SuppressedAddresses));
            }
            done = ready;
            ready = Ready(toWrite);
        }

        await WriteAsync(runs);
        foreach (var run in runs)
        {
            if (run.Lost)
            {
                LogLeaseLost(logger, run.Instance.Id);
                run.Activity?.SetTag("journeyworker.lease_lost", true);
                continue;
            }
            foreach (var step in run.NewSteps)
            {
                telemetry.StepExecuted(run.NodeType(step.NodeId), step.Outcome);
            }
            if (run.Activity is { } activity)
            {
                activity.SetTag("journeyworker.instance.status", run.Instance.Status);
                activity.SetTag("journeyworker.instance.end_reason", run.Instance.EndReason);
                if (run.Instance.Status == InstanceStatus.Failed)
                {
                    activity.SetStatus(ActivityStatusCode.Error, run.Instance.EndReason);
                }
            }
        }
        return runs.Count;
    }

    /// <summary>The run's span, in the trace of the event that admitted or last resumed the instance (a root span otherwise).</summary>
    private static Activity? StartActivity(InstanceRun run)
    {
        var activity = JourneyTelemetry.StartDetached("journeyworker.run", ActivityKind.Internal, run.Instance.TraceParent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("journeyworker.instance.id", run.Instance.Id);
            activity.SetTag("journeyworker.journey.id", run.Instance.JourneyId.ToString());
            activity.SetTag("journeyworker.journey.version_id", run.Instance.JourneyVersionId.ToString());
            activity.SetTag("journeyworker.profile.id", run.Instance.ProfileId);
            activity.SetTag("journeyworker.node.id", run.Instance.NodeId);
        }
        return activity;
    }

    /// <summary>
    /// Sends the round's messages. One leaves only while the batch's claims are held for at least
    /// <paramref name="margin"/> more (half a lease): past that, the claim could run out while the message is on its
    /// way, and a worker taking the instance over would send it too. A message not sent has a null result.
    /// </summary>
    private async Task<Channels.SendResult?[]> SendAllAsync(List<InstanceRun> runs, StrongBox<long> held, long margin, CancellationToken cancellationToken)
    {
        var results = new Channels.SendResult?[runs.Count];
        await Parallel.ForAsync(0, runs.Count,
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.Parallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                if (!runs[i].Lost && time.GetUtcNow().ToUnixTimeMilliseconds() <= Interlocked.Read(ref held.Value) - margin)
                {
                    results[i] = await dispatcher.SendAsync(runs[i], ct);
                }
            });
        return results;
    }

    /// <summary>One instance's unexpected failure (a bug, a corrupt row) ends that instance, not the batch.</summary>
    private void Guarded(InstanceRun run, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogInstanceFailed(logger, e, run.Instance.Id);
            NodeStepper.FailInternally(run, e);
        }
    }

    private void Start(InstanceRun run, IReadOnlyDictionary<string, string> suppressed)
    {
        if (run.Instance.DueAt is { } due)
        {
            telemetry.TimerLateness(run.Now - DateTimeOffset.FromUnixTimeMilliseconds(due));
        }
        _stepper.Start(run, suppressed);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {InstanceId}: lease lost before commit (taken over, or too close to its end to send); another worker takes it on")]
    private static partial void LogLeaseLost(ILogger logger, long instanceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Instance {InstanceId} failed unexpectedly and was ended")]
    private static partial void LogInstanceFailed(ILogger logger, Exception exception, long instanceId);
}

public enum Flow
{
    Continue,
    Stop,
    /// <summary>A message is prepared and waits for the batch's next round of sends.</summary>
    Send,
}
