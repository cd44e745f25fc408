using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Runtime;

/// <summary>
/// Claims due instances in batches and runs them. A claim is one atomic UPDATE that stamps owner
/// and lease expiry on rows that are due and not leased (or whose lease expired), so several
/// workers on one database never run the same instance at once; a crashed worker's claims are
/// taken over once their lease runs out. On PostgreSQL the same statement becomes
/// UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED).
/// </summary>
public sealed class InstancePoller(
    IServiceScopeFactory scopes,
    InstanceRunner runner,
    TimeProvider time,
    IOptions<RuntimeOptions> options,
    WriteGate writes,
    IHostApplicationLifetime lifetime)
{
    private const string ClaimSql = """
        UPDATE "JourneyInstances" SET "LeaseOwner" = $owner, "LeaseUntil" = $until
        WHERE "Id" IN (
            SELECT "Id" FROM "JourneyInstances"
            WHERE "Status" IN ('active', 'waiting') AND "DueAt" <= $now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < $now)
            ORDER BY "DueAt"
            LIMIT $limit)
        RETURNING "Id"
        """;

    // A read first: an idle poll then takes no write lock and no place in the write gate.
    private const string AnyDueSql = """
        SELECT EXISTS (
            SELECT 1 FROM "JourneyInstances"
            WHERE "Status" IN ('active', 'waiting') AND "DueAt" <= $now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < $now))
        """;

    // The earliest due time of any running instance: index seeks, one per status.
    private const string NextDueSql = """
        SELECT min("m") FROM (
            SELECT min("DueAt") AS "m" FROM "JourneyInstances" WHERE "Status" = 'active'
            UNION ALL
            SELECT min("DueAt") FROM "JourneyInstances" WHERE "Status" = 'waiting')
        """;

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
        if (now < Volatile.Read(ref _nextDueMs) && writes.Writes == Volatile.Read(ref _seenWrites)
            && now - Volatile.Read(ref _lastLookMs) < Recheck.TotalMilliseconds)
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

    private async Task<long> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = NextDueSql;
        return await command.ExecuteScalarAsync(cancellationToken) is long due ? due : long.MaxValue;
    }

    public async Task<List<long>> ClaimAsync(string owner, int limit, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using (var probe = connection.CreateCommand())
        {
            probe.CommandText = AnyDueSql;
            probe.AddParameter("$now", now);
            if (Convert.ToInt64(await probe.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                return [];
            }
        }

        await using var command = connection.CreateCommand();
        command.CommandText = ClaimSql;
        command.AddParameter("$owner", owner);
        command.AddParameter("$until", now + (long)options.Value.LeaseDuration.TotalMilliseconds);
        command.AddParameter("$now", now);
        command.AddParameter("$limit", limit);
        return await writes.RunAsync(async () =>
        {
            var ids = new List<long>(limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetInt64(0));
            }
            return ids;
        }, cancellationToken);
    }
}
