using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Events;

/// <summary>
/// PostgreSQL's reads of a group commit in one round trip. The writer is latency-bound there: every statement is a
/// round trip whose answer waits its turn on the thread pool behind the requests, and a batch made seven of them (the
/// configurations' stamp, the identities' profiles, their locks, their waits, the journeys' stamp, the insert, the
/// commit). Sent as one batch, the reads take one, in the same order (the locks before the waits).
/// </summary>
public static partial class EventBatch
{
    /// <summary>What the reads settled: the events still valid (their profiles resolved), the instances waiting for their profiles, the routes.</summary>
    private sealed record Prelude(List<PendingEvent> Events, List<WaitingInstance> Waiting, JourneyRoutes Routes);

    /// <summary>The batch's reads in one round trip, or null where the provider cannot (SQLite: in process, nothing to save).</summary>
    private static async Task<Prelude?> PreludeAsync(
        StoreTransaction tx, EventSql sql, EventConfigCache configs, JourneyStarts starts, IReadOnlyList<PendingEvent> batch,
        (IntakeResult Answer, bool Stored)[] answers, CancellationToken cancellationToken)
    {
        if (sql.ProfilesByIdentities is not { } setBased || !tx.ReadsWaitsByIdentity)
        {
            return null;
        }
        await using var reads = tx.Batch();
        if (reads is null)
        {
            return null;
        }
        // The identities as checked under the configurations the requests saw, nearly always still the current ones.
        var keys = IdentityKeys(batch);
        var namespaces = keys.Select(k => k.Namespace).ToArray();
        var values = keys.Select(k => k.Value).ToArray();
        reads.Add(sql.ConfigStamp);
        reads.Add(setBased, ("@namespaces", namespaces), ("@values", values));
        tx.AddIdentityWaits(reads, namespaces, values);
        JourneyStarts.AddStamp(reads, sql);
        // Prepared on the writer's kept connection: after the first batch Npgsql finds the statements prepared and sends no
        // Parse, and the server neither parses nor (once its plans are generic) plans them again for every batch.
        await reads.PrepareAsync(cancellationToken);

        string configStamp, startsStamp;
        var found = new Dictionary<(string Namespace, string Value), long>(keys.Count);
        List<WaitingInstance> waiting;
        await using (var reader = await reads.ExecuteReaderAsync(cancellationToken))
        {
            configStamp = await ScalarAsync(reader, cancellationToken);
            await reader.NextResultAsync(cancellationToken);
            await ReadProfilesAsync(reader, found, cancellationToken);
            await reader.NextResultAsync(cancellationToken);
            waiting = await StoreTransaction.ReadIdentityWaitsAsync(reader, cancellationToken);
            await reader.NextResultAsync(cancellationToken);
            startsStamp = await ScalarAsync(reader, cancellationToken);
        }

        var events = Recheck(await configs.AtStampAsync(tx.Db, configStamp, cancellationToken), batch, answers);
        // A configuration changed since some event was checked, and its new check names identities not read above: their
        // profiles are read, locked and looked at now (a round trip more, only then).
        var asked = keys.ToHashSet();
        var more = IdentityKeys(events).Where(k => !asked.Contains(k)).ToList();
        if (more.Count > 0)
        {
            await using var command = tx.Command(setBased);
            command.AddParameter("@namespaces", more.Select(k => k.Namespace).ToArray());
            command.AddParameter("@values", more.Select(k => k.Value).ToArray());
            var extra = new Dictionary<(string Namespace, string Value), long>(more.Count);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await ReadProfilesAsync(reader, extra, cancellationToken);
            }
            var seen = found.Values.ToHashSet();
            waiting.AddRange(await tx.FindWaitingForEventsAsync([.. extra.Values.Where(seen.Add)], cancellationToken));
            foreach (var (key, profileId) in extra)
            {
                found[key] = profileId;
            }
        }
        foreach (var e in events)
        {
            e.Resolve(found);
        }
        return new Prelude(events, waiting, await starts.AtStampAsync(tx, startsStamp, cancellationToken));
    }

    private static async Task<string> ScalarAsync(System.Data.Common.DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException("A stamp query returned no row.");
        }
        var value = reader.GetString(0);
        while (await reader.ReadAsync(cancellationToken))
        {
        }
        return value;
    }
}
