using System.Data.Common;
using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>
/// Orders a wait becoming visible against the event or reaction that would end it, where several workers write at once
/// (PostgreSQL). Without it, in READ COMMITTED, a runner committing "waits for purchase" and an intake batch storing that
/// purchase could each miss the other's uncommitted row: the event finds nothing waiting, the wait then waits for an
/// event that already came (a lost wake-up). Both sides take the same lock first in their transaction — the runner for
/// the profiles of runs entering an event wait and the instances entering a reaction wait, the intake for its batch's
/// profiles, a reaction for its instance — so one of them commits before the other looks. On SQLite the write gate
/// already lets one writer in at a time and <see cref="InstanceSql.LockWaits"/> is null.
/// </summary>
internal static class StoreLocks
{
    /// <summary>Lock classes (the first int4 of a two-key advisory lock), apart from any single-bigint lock key.</summary>
    public const int ProfileClass = 0x4A57_0001;
    public const int InstanceClass = 0x4A57_0002;

    /// <summary>Audience membership (one key, 0): profile writes take it shared, a change of what is tracked exclusively (see Audiences/AudienceMembership).</summary>
    public const int MembershipClass = 0x4A57_0003;

    /// <summary>Takes the locks (a no-op where the provider needs none, or there is nothing to lock).</summary>
    public static async Task LockAsync(
        DbTransaction transaction, InstanceSql sql, IReadOnlyCollection<long> profiles, IReadOnlyCollection<long> instances,
        CancellationToken cancellationToken)
    {
        if (sql.LockWaits is not { } text || (profiles.Count == 0 && instances.Count == 0))
        {
            return;
        }
        await using var command = StoreTransaction.Command(transaction, text);
        command.AddParameter("@profiles", sql.Ids(profiles));
        command.AddParameter("@instances", sql.Ids(instances));
        command.AddParameter("@profileClass", ProfileClass);
        command.AddParameter("@instanceClass", InstanceClass);
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
