using System.ComponentModel.DataAnnotations;
using System.Threading.Channels;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Events;

public sealed class EventIntakeOptions
{
    public const string Section = "Events:Intake";

    /// <summary>Events stored and routed per transaction at most: one commit (one fsync) answers them all.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>Events waiting for the writer at most; past it, requests wait for room (backpressure).</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 5_000;
}

/// <summary>The event could not be stored (the database failed, or the service is stopping): a 503, the client retries.</summary>
public sealed class IntakeUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The single writer of event intake (group commit). Requests queue their prepared events; the
/// writer takes everything queued (up to <see cref="EventIntakeOptions.BatchSize"/>), stores and
/// routes it in one store transaction under the write gate (so it still takes turns with the
/// journey runner) and answers every waiter after the commit. One commit per batch instead of one per
/// event is what makes durable intake fast: the commit, not the insert, is the cost.
/// </summary>
public sealed partial class EventWriter(
    InstanceStore store, EventSql sql, EventConfigCache configs, JourneyStarts starts, JourneyConnections connections, JourneyTelemetry telemetry,
    IOptions<EventIntakeOptions> options, ILogger<EventWriter> logger) : IHostedService
{
    private readonly int _batchSize = options.Value.BatchSize;
    private readonly Channel<PendingEvent> _queue = Channel.CreateBounded<PendingEvent>(
        new BoundedChannelOptions(options.Value.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private Task _loop = Task.CompletedTask;

    private long _taken;

    // Two lanes where commits may overlap (PostgreSQL): while one batch's COMMIT is in flight on one lane's session, the next
    // batch is read and inserted on the other's. One lane elsewhere.
    private readonly Lane[] _lanes = store.OverlapsCommits ? [new(), new()] : [new()];
    private int _lane;

    // The writer thread's wake-up (no spinning: see Block).
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private Action? _signalCache;
    private Action _signal => _signalCache ??= _wake.Set;

    /// <summary>Events queued and not yet taken into a batch.</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>Events taken into batches since the start (committed, failed or being written).</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>Queues the event and returns its answer once it is committed.</summary>
    public async Task<IntakeResult> WriteAsync(PendingEvent pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new IntakeUnavailableException("The service is stopping; send the event again later.");
        }
        // Once queued the event is stored whether or not its sender is still there, and the answer comes within a commit:
        // no cancellation to register per request (a promise and a token registration each, on the hot path).
        return await pending.Done.Task;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Its own thread, not a thread-pool one: SQLite's calls are synchronous underneath the async
        // API (statements, WAL writes, checkpoints), and on a small machine a pool thread held by them
        // is a large share of the threads that run the requests (intake bench: same throughput with
        // one more pool thread per core, without it requests queued behind the writer's I/O).
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <summary>Refuses new events, then stores what is queued before returning (within the host's shutdown timeout).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// The writer loop, blocking on purpose: the awaited database calls complete synchronously on this
    /// thread; only a wait for an empty queue or a busy write gate parks it.
    /// </summary>
    private void Run()
    {
        var batch = new List<PendingEvent>(_batchSize);
        while (Block(_queue.Reader.WaitToReadAsync().AsTask()))
        {
            // The lane's previous batch must have committed (and been answered) before its session runs another; the
            // events that arrive meanwhile join this batch.
            var lane = _lanes[_lane];
            _lane = (_lane + 1) % _lanes.Length;
            Block(lane.Committed);
            while (batch.Count < _batchSize && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }
            Interlocked.Add(ref _taken, batch.Count);
            lane.Committed = Block(CommitAsync(lane, [.. batch]));
            batch.Clear();
        }
        foreach (var lane in _lanes)
        {
            Block(lane.Committed);
            DropSessionAsync(lane).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Waits for <paramref name="task"/> without spinning first, as Task.Wait does: on PostgreSQL every batch's I/O completes
    /// on the thread pool, so the writer waits once per batch, and its spinning was a tenth of the process's busy samples
    /// under load, taken from the two cores the requests need.
    /// </summary>
    private T Block<T>(Task<T> task)
    {
        Park(task);
        return task.GetAwaiter().GetResult();
    }

    private void Block(Task task)
    {
        Park(task);
        task.GetAwaiter().GetResult();
    }

    private void Park(Task task)
    {
        if (task.IsCompleted)
        {
            return;
        }
        _wake.Reset();
        task.GetAwaiter().UnsafeOnCompleted(_signal);
        _wake.Wait();
    }

    /// <summary>Stores <paramref name="batch"/> on <paramref name="lane"/> up to its COMMIT; returns the task that answers it once committed (never failing).</summary>
    private async Task<Task> CommitAsync(Lane lane, List<PendingEvent> batch)
    {
        try
        {
            return await CommitOnceAsync(lane, batch, overlap: true);
        }
        catch (Exception e) when (batch.Count > 1 && !IsEnvironmental(e))
        {
            // Something in one event (not the database) broke the batch: store the others, each alone,
            // so that one poison event costs a 503 to its own sender only. Each commits before the next
            // starts, so they stay in arrival order.
            LogBatchFailed(logger, batch.Count, e);
            foreach (var pending in batch)
            {
                await CommitAloneAsync(lane, pending);
            }
        }
        catch (Exception e)
        {
            LogBatchFailed(logger, batch.Count, e);
            Fail(batch, e);
        }
        return Task.CompletedTask;
    }

    private async Task CommitAloneAsync(Lane lane, PendingEvent pending)
    {
        try
        {
            await await CommitOnceAsync(lane, [pending], overlap: false);
        }
        catch (Exception e)
        {
            LogEventFailed(logger, pending.Id, e);
            Fail([pending], e);
        }
    }

    /// <summary>
    /// Runs the batch's transaction on the lane's session. With <paramref name="overlap"/> (and two lanes) it returns once the
    /// COMMIT is sent, and the returned task answers the batch when the commit completes; otherwise the batch is committed and
    /// answered before it returns.
    /// </summary>
    private async Task<Task> CommitOnceAsync(Lane lane, List<PendingEvent> batch, bool overlap)
    {
        // The database work ignores cancellation: a queued event is written even while stopping.
        List<(IntakeResult Answer, bool Stored)> answers;
        Task committed;
        var session = lane.Session ??= await store.OpenAsync(CancellationToken.None);
        try
        {
            Task<List<(IntakeResult, bool)>> Work(StoreTransaction tx) => EventBatch.WriteAsync(tx, sql, configs, starts, batch, CancellationToken.None);
            (answers, committed) = overlap && _lanes.Length > 1
                ? await session.WriteUntilCommitAsync(Work, CancellationToken.None)
                : (await session.WriteAsync(Work, CancellationToken.None), Task.CompletedTask);
        }
        catch
        {
            // A failed batch may leave the session or its connection in any state: start the next one afresh.
            await DropSessionAsync(lane);
            throw;
        }
        if (committed.IsCompletedSuccessfully)
        {
            Answer(batch, answers);
            return Task.CompletedTask;
        }
        return FinishAsync(lane, batch, answers, committed);
    }

    /// <summary>
    /// A lane's store session (an open connection) is kept from batch to batch: a new scope, context,
    /// pooled connection and its per-connection pragmas for every group commit were the larger part of the
    /// writer's CPU in the intake profile. Only the writer uses it, one batch at a time.
    /// </summary>
    private static async Task DropSessionAsync(Lane lane)
    {
        var session = lane.Session;
        lane.Session = null;
        if (session is not null)
        {
            await session.DisposeAsync();
        }
    }

    private static void Fail(List<PendingEvent> batch, Exception e)
    {
        var unavailable = new IntakeUnavailableException("The event could not be stored; send it again later.", e);
        foreach (var pending in batch)
        {
            pending.Done.TrySetException(unavailable);
        }
    }

    /// <summary>Failures of the database itself (busy past the timeout, disk full, I/O, connection lost): every event would fail alike.</summary>
    private bool IsEnvironmental(Exception e) => e is System.Data.Common.DbException db && connections.IsEnvironmental(db);

    [LoggerMessage(Level = LogLevel.Error, Message = "A group commit of {Count} events failed")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Event {EventId} could not be stored")]
    private static partial void LogEventFailed(ILogger logger, Guid eventId, Exception exception);
}
