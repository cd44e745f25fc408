using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Events;

/// <summary>
/// The writer's lanes. On PostgreSQL a batch's COMMIT (a round trip and an fsync) takes about as long as its reads and
/// insert, and the single writer ran the two in series: latency-bound, the server's second core idle. With two lanes the
/// next batch is read and inserted on the other session while the last one's COMMIT is in flight. Ordering holds through
/// the server's locks: a batch takes its profiles' advisory locks before it reads their waits, so a batch with a profile
/// of the batch still committing waits for that commit and then sees what it changed (and an idempotency key taken by it
/// makes the insert wait for it too). A batch that made work due commits inside the write gate as before.
/// </summary>
public sealed partial class EventWriter
{
    /// <summary>Answers the batch once its COMMIT completes, or fails all of it with that COMMIT (the database's failure, not an event's).</summary>
    private async Task FinishAsync(Lane lane, List<PendingEvent> batch, List<(IntakeResult Answer, bool Stored)> answers, Task committed)
    {
        try
        {
            await committed;
        }
        catch (Exception e)
        {
            LogBatchFailed(logger, batch.Count, e);
            Fail(batch, e);
            await DropSessionAsync(lane);
            return;
        }
        Answer(batch, answers);
    }

    private void Answer(List<PendingEvent> batch, List<(IntakeResult Answer, bool Stored)> answers)
    {
        // Counted once per batch (a tagged measurement per event was a visible share of the writer's CPU), and before any
        // answer is released, so that a client that got its 202 finds its event in the metrics.
        var stored = 0;
        var (resumed, admitted) = (0, 0);
        var matched = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            if (answers[i].Stored)
            {
                stored++;
                var e = batch[i];
                foreach (var name in e.Matched)
                {
                    matched[name] = matched.GetValueOrDefault(name) + 1;
                }
                (resumed, admitted) = (resumed + e.Resumed, admitted + e.Admitted);
            }
        }
        foreach (var (name, count) in matched)
        {
            telemetry.EventMatched(name, count);
        }
        telemetry.EventsRouted(resumed, admitted);
        telemetry.EventsReceived(stored);
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Done.TrySetResult(answers[i].Answer);
        }
    }

    /// <summary>A session of the writer and the answer of the last batch it ran (its commit may still be in flight).</summary>
    private sealed class Lane
    {
        public StoreSession? Session { get; set; }

        public Task Committed { get; set; } = Task.CompletedTask;
    }
}
