using System.Data.Common;
using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>An intake batch's waits, read by identity so that they travel with its other reads (one round trip).</summary>
public sealed partial class StoreTransaction
{
    /// <summary>Whether <see cref="AddIdentityWaits"/> can be used (PostgreSQL).</summary>
    public bool ReadsWaitsByIdentity => sql.IdentityWaits is not null && sql.BatchesStatements;

    /// <summary>
    /// Adds to <paramref name="batch"/> what <see cref="FindWaitingForEventsAsync"/> does for the profiles behind these
    /// identities (parallel arrays): take their locks, then read their instances waiting for an event. Two results, read
    /// with <see cref="ReadIdentityWaitsAsync"/>. The same ordering holds as there: the locks are taken before the read.
    /// </summary>
    public void AddIdentityWaits(DbBatch batch, string[] namespaces, string[] values)
    {
        var (lockText, waitingText) = sql.IdentityWaits ?? throw new InvalidOperationException("The provider reads waits by profile id only.");
        batch.Add(lockText, ("@namespaces", namespaces), ("@values", values), ("@profileClass", StoreLocks.ProfileClass));
        batch.Add(waitingText, ("@namespaces", namespaces), ("@values", values), ("@waiting", InstanceStatus.Waiting),
            ("@eventPrefix", WaitKeys.EventPrefix + "%"));
    }

    /// <summary>Reads the two results of <see cref="AddIdentityWaits"/>, the reader standing on the first; leaves it on the second.</summary>
    public static async Task<List<WaitingInstance>> ReadIdentityWaitsAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            // The lock's count: nothing to read, the locks are held to the commit.
        }
        await reader.NextResultAsync(cancellationToken);
        var found = new List<WaitingInstance>();
        await ReadWaitingAsync(reader, found, cancellationToken);
        return found;
    }

    private static async Task ReadWaitingAsync(DbDataReader reader, List<WaitingInstance> found, CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new WaitingInstance(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                reader.GetGuid(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
    }
}
