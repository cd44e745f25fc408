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
    TimeProvider time,
    JourneyMetrics metrics,
    IOptions<RuntimeOptions> options,
    ILogger<InstanceRunner> logger)
{
    private const int MaxStepsPerRun = 200;

    /// <summary>Runs one claimed instance (a batch of one).</summary>
    public Task<int> RunAsync(long instanceId, string owner, CancellationToken cancellationToken) =>
        RunBatchAsync([instanceId], owner, cancellationToken);

    /// <summary>Runs claimed instances; returns how many were still ours to run.</summary>
    public async Task<int> RunBatchAsync(IReadOnlyCollection<long> instanceIds, string owner, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var batch = await session.LoadBatchAsync(instanceIds, owner, time.GetUtcNow(), cancellationToken);
        var runs = batch.Runs;
        foreach (var run in runs)
        {
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

        var first = TakeFresh();
        if (first.Count > 0)
        {
            await session.WriteRunsAsync(first, owner, cancellationToken);
        }
        var ready = Ready(first);
        List<InstanceRun> done = [];
        while (ready.Count > 0 || done.Any(r => r.PendingSend is not null && !r.Lost))
        {
            var toWrite = done.Concat(TakeFresh()).ToList();
            var sending = SendAllAsync(ready, cancellationToken);
            var writing = toWrite.Count > 0 ? session.WriteRunsAsync(toWrite, owner, cancellationToken) : Task.CompletedTask;
            await Task.WhenAll(sending, writing);
            var results = await sending;
            for (var i = 0; i < ready.Count; i++)
            {
                var run = ready[i];
                var result = results[i];
                Guarded(run, () =>
                {
                    if (dispatcher.Complete(run, result) == Flow.Continue)
                    {
                        Advance(run, batch.SuppressedAddresses);
                    }
                });
            }
            done = ready;
            ready = Ready(toWrite);
        }

        await session.WriteRunsAsync(runs, owner, cancellationToken);
        foreach (var run in runs)
        {
            if (run.Lost)
            {
                LogLeaseLost(logger, run.Instance.Id);
                continue;
            }
            foreach (var step in run.NewSteps)
            {
                metrics.StepExecuted(step.Outcome);
            }
        }
        return runs.Count;
    }

    private async Task<Channels.SendResult[]> SendAllAsync(List<InstanceRun> runs, CancellationToken cancellationToken)
    {
        var results = new Channels.SendResult[runs.Count];
        await Parallel.ForAsync(0, runs.Count,
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.Parallelism, CancellationToken = cancellationToken },
            async (i, ct) => results[i] = await dispatcher.SendAsync(runs[i], ct));
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
            run.PendingSend = null;
            run.ReactionCheck = null;
            run.Step(run.Instance.NodeId ?? "-", StepOutcome.Failed, $"Internal error: {e.GetType().Name}: {e.Message}");
            run.End(InstanceStatus.Failed, "internalError");
        }
    }

    private void Start(InstanceRun run, IReadOnlySet<string> suppressed)
    {
        var instance = run.Instance;
        if (instance.DueAt is { } due)
        {
            metrics.TimerLateness(run.Now - DateTimeOffset.FromUnixTimeMilliseconds(due));
        }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {InstanceId}: lease lost before commit; another worker owns it now")]
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
