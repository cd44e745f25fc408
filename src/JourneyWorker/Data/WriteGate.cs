namespace JourneyWorker.Data;

/// <summary>
/// Lets one write transaction at a time in this process reach SQLite. SQLite has a single writer
/// anyway; when several connections race for it, the losers wait in SQLite's busy handler, which
/// polls with sleeps of up to 100 ms, so the lock is handed over late and throughput collapses
/// (8 parallel runners: ~240 instances/s; 50 concurrent intake requests: ~60 events/s — see
/// docs/benchmarks.md). Queuing on this gate hands the lock over at once. Other processes on the
/// same file still coordinate through SQLite's own locking. Never await a gated call while holding it.
/// </summary>
public sealed class WriteGate
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _writes;
    private int _waiting;

    /// <summary>
    /// Counts the gated writes that have finished. A write may have made work due (an admission, a resume),
    /// so the poller looks again when this moved instead of trusting the next due time it last read.
    /// </summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Writes queued for the gate right now (for diagnostics and tests of ordering).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public Task<T> RunAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken) => RunAsync(write, true, cancellationToken);

    /// <summary>
    /// Runs <paramref name="write"/> alone; <paramref name="mayMakeWorkDue"/> false for a write that cannot (a claim only
    /// leases what is already due), so that it does not count in <see cref="Writes"/> and an idle poll stays idle.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> write, bool mayMakeWorkDue, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _gate.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        try
        {
            return await write();
        }
        finally
        {
            if (mayMakeWorkDue)
            {
                Interlocked.Increment(ref _writes);
            }
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> beside gated writes (PostgreSQL only, where the database orders concurrent
    /// transactions itself) and counts it in <see cref="Writes"/> as a gated write that may have made work due.
    /// </summary>
    public async Task<T> RunBesideAsync<T>(Func<Task<T>> write)
    {
        try
        {
            return await write();
        }
        finally
        {
            Interlocked.Increment(ref _writes);
        }
    }

    public Task RunAsync(Func<Task> write, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await write();
            return true;
        }, cancellationToken);
}
