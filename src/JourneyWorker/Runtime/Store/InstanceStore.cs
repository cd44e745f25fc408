using System.Globalization;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

/// <summary>
/// Every read and write of journey instances, their steps, outbox rows, reactions and leases goes through
/// here (statement texts in <see cref="InstanceSql"/>, one set per provider). The store owns the connections, the
/// transactions and the <see cref="WriteGate"/>; the engine hands it runs and gets facts back ("lease
/// lost", "reaction exists"), and holds no database context of its own.
/// </summary>
public sealed partial class InstanceStore(IServiceScopeFactory scopes, WriteGate gate, JourneyCatalog catalog, InstanceSql sql)
{
    /// <summary>
    /// Whether a writer may start its next transaction while its last COMMIT is still in flight
    /// (<see cref="StoreSession.WriteUntilCommitAsync{T}"/>): where the server's own locks order the writers (PostgreSQL's
    /// advisory locks on profiles and instances, taken before waits are read), a transaction that touches the same
    /// profiles waits for that commit. SQLite has one writer and commits in process: nothing to overlap.
    /// </summary>
    public bool OverlapsCommits => sql.LockWaits is not null;

    /// <summary>
    /// A connection kept open across several calls: a batch of the runner, or the intake writer from one
    /// group commit to the next (a new scope, context and connection per commit cost a visible share of its CPU).
    /// </summary>
    public async Task<StoreSession> OpenAsync(CancellationToken cancellationToken)
    {
        var scope = scopes.CreateAsyncScope();
        try
        {
            var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
            await db.Database.OpenConnectionAsync(cancellationToken);
            return new StoreSession(scope, db, gate, catalog, sql);
        }
        catch
        {
            await scope.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction on the caller's context, under the write gate, and commits:
    /// for lifecycle changes that write their own rows (versions, profiles) together with instance rows.
    /// </summary>
    public Task<T> WriteAsync<T>(JourneyDbContext db, Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        StoreSession.WriteAsync(db, gate, catalog, sql, work, cancellationToken);

    /// <summary>
    /// As <see cref="WriteAsync{T}(JourneyDbContext, Func{StoreTransaction, Task{T}}, CancellationToken)"/>, but beside the
    /// write gate where the database orders concurrent writers itself (<see cref="OverlapsCommits"/>: PostgreSQL, whose
    /// workers in other processes write beside this one's gate anyway); under it on SQLite.
    /// </summary>
    public Task<T> WriteBesideAsync<T>(JourneyDbContext db, Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        OverlapsCommits
            ? gate.RunBesideAsync(() => StoreSession.TransactAsync(db, catalog, sql, work, cancellationToken))
            : WriteAsync(db, work, cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one transaction on a connection of its own, under the write gate, and commits.</summary>
    public async Task<T> WriteAsync<T>(Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.WriteAsync(work, cancellationToken);
    }

    /// <summary>
    /// Leases up to <paramref name="limit"/> due instances to <paramref name="owner"/> until <paramref name="leaseUntil"/>
    /// (unix ms) and returns their ids; due means due by <paramref name="now"/> and held by no live lease, so a crashed
    /// worker's claims are taken over once their lease runs out.
    /// </summary>
    public async Task<List<long>> ClaimAsync(string owner, int limit, long now, long leaseUntil, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        if (sql.AnyDue is { } anyDue)
        {
            await using var probe = session.Command(anyDue);
            AddRunning(probe);
            probe.AddParameter("@now", now);
            if (Convert.ToInt64(await probe.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
            {
                return [];
            }
        }

        await using var claim = session.Command(sql.Claim);
        AddRunning(claim);
        claim.AddParameter("@owner", owner);
        claim.AddParameter("@until", leaseUntil);
        claim.AddParameter("@now", now);
        claim.AddParameter("@limit", limit);
        return await gate.RunAsync(async () =>
        {
            var ids = new List<long>(limit);
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetInt64(0));
            }
            return ids;
        }, mayMakeWorkDue: false, cancellationToken);
    }

    /// <summary>The earliest due time (unix ms) of any running instance; <see cref="long.MaxValue"/> when none is.</summary>
    public async Task<long> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        await using var command = session.Command(sql.NextDue);
        AddRunning(command);
        return await command.ExecuteScalarAsync(cancellationToken) is long due ? due : long.MaxValue;
    }

    /// <summary>Whether any instance of the version still runs (active or waiting).</summary>
    public async Task<bool> AnyRunningAsync(Guid versionId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        await using var command = session.Command(sql.AnyRunning);
        AddRunning(command);
        command.AddParameter("@version", sql.Guid(versionId));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 1;
    }

    /// <summary>The URL behind a tracked link, if the message and link exist.</summary>
    public async Task<string?> TrackedLinkAsync(long outboxMessageId, int index, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        await using var command = session.Command(sql.TrackedLink);
        command.AddParameter("@id", outboxMessageId);
        command.AddParameter("@index", index);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>Who a sent message belongs to: null when the message is unknown (never sent, or its profile forgotten).</summary>
    public async Task<MessageOwner?> MessageOwnerAsync(long outboxMessageId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await StoreTransaction.MessageOwnerAsync(session.Command(sql.MessageOwner), outboxMessageId, cancellationToken);
    }

    /// <summary>Instances by status, for the metrics endpoint.</summary>
    public async Task<Dictionary<string, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.GroupBy(i => i.Status).Select(g => new { g.Key, Count = g.LongCount() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, StringComparer.Ordinal, cancellationToken);
    }

    /// <summary>Running instances due by <paramref name="nowMs"/>: work the poller has not caught up with.</summary>
    public async Task<long> DueBacklogAsync(long nowMs, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.LongCountAsync(
            i => (i.Status == InstanceStatus.Active || i.Status == InstanceStatus.Waiting) && i.DueAt != null && i.DueAt <= nowMs, cancellationToken);
    }

    internal static void AddRunning(System.Data.Common.DbCommand command)
    {
        command.AddParameter("@active", InstanceStatus.Active);
        command.AddParameter("@waiting", InstanceStatus.Waiting);
    }
}

/// <summary>The instance and profile a sent message belongs to.</summary>
public sealed record MessageOwner(long InstanceId, string NodeId, long? ProfileId);
