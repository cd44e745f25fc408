using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Runtime;

/// <summary>
/// Claims due instances in batches and runs them. A claim leases rows that are due and not leased (or whose lease
/// expired) to this worker (<see cref="InstanceStore.ClaimAsync"/>), so several workers on one database never run
/// the same instance at once; a crashed worker's claims are taken over once their lease runs out.
/// </summary>
public sealed class InstancePoller(
    InstanceStore store,
    InstanceRunner runner,
    TimeProvider time,
    IOptions<RuntimeOptions> options,
    WriteGate writes,
    IHostApplicationLifetime lifetime)
{
    // Another process on the same database may admit work this one has not heard of; look at least this often.
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(5);

    private long _nextDueMs = long.MinValue;
    private long _seenWrites = -1;
    private long _lastLookMs;

    /// <summary>
    /// One scheduled poll: drains due work, but skips the database while nothing can be due — the next due
    /// time it read last has not come, nothing was written in this process since, and it looked recently.
    /// An idle poll then costs no query at all.
    /// </summary>
    public async Task<int> PollAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        // A last look "in the future" means the wall clock stepped back: it is no recent look, or the recheck for other
        // processes' work would be suspended for as long as the step.
        var sinceLook = now - Volatile.Read(ref _lastLookMs);
        if (now < Volatile.Read(ref _nextDueMs) && writes.Writes == Volatile.Read(ref _seenWrites)
            && sinceLook >= 0 && sinceLook < Recheck.TotalMilliseconds)
        {
            return 0;
        }
        return await DrainAsync(cancellationToken);
    }

    /// <summary>Makes the next poll look: for tools that change due times in the database directly.</summary>
    public void Wake() => Volatile.Write(ref _nextDueMs, long.MinValue);

    /// <summary>Runs due work until none is left (or <paramref name="maxBatches"/> batches); returns how many instances ran.</summary>
    public async Task<int> DrainAsync(CancellationToken cancellationToken, int maxBatches = int.MaxValue)
    {
        Volatile.Write(ref _lastLookMs, time.GetUtcNow().ToUnixTimeMilliseconds());
        var total = 0;
        // A stopping host claims no new batch: Quartz waits for a running job at shutdown, and a
        // large backlog would otherwise hold the shutdown until it is all worked off. The batch in
        // hand is finished (not cancelled), so that what it sent is committed and not sent again.
        for (var batch = 0; batch < maxBatches && !cancellationToken.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested; batch++)
        {
            var owner = options.Value.WorkerId;
            // Read before the claim: a write that lands after it is noticed by the next poll.
            var writesBefore = writes.Writes;
            var claimed = await ClaimAsync(owner, options.Value.BatchSize, cancellationToken);
            if (claimed.Count == 0)
            {
                Volatile.Write(ref _nextDueMs, await NextDueAsync(cancellationToken));
                Volatile.Write(ref _seenWrites, writesBefore);
                break;
            }

            total += await runner.RunBatchAsync(claimed, owner, cancellationToken);
        }
        return total;
    }

    private Task<long> NextDueAsync(CancellationToken cancellationToken) => store.NextDueAsync(cancellationToken);

    public Task<List<long>> ClaimAsync(string owner, int limit, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return store.ClaimAsync(owner, limit, now, now + (long)options.Value.LeaseDuration.TotalMilliseconds, cancellationToken);
    }
}
