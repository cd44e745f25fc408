using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Events;

/// <summary>What a group commit settles for the whole batch before it stores anything: fresh configurations, and profiles.</summary>
public static partial class EventBatch
{
    /// <summary>
    /// The events still valid under the configurations as of this transaction: those checked under an older stamp are
    /// checked again (matches, fields, identities), and one that no longer fits gets its field problems as its answer.
    /// </summary>
    private static async Task<List<PendingEvent>> RecheckAsync(
        StoreTransaction tx, EventConfigCache configs, IReadOnlyList<PendingEvent> batch, (IntakeResult Answer, bool Stored)[] answers,
        CancellationToken cancellationToken)
    {
        ConfigSnapshot fresh;
        await using (var command = tx.Command(""))
        {
            fresh = await configs.FreshAsync(tx.Db, command, cancellationToken);
        }
        return Recheck(fresh, batch, answers);
    }

    private static List<PendingEvent> Recheck(ConfigSnapshot fresh, IReadOnlyList<PendingEvent> batch, (IntakeResult Answer, bool Stored)[] answers)
    {
        var events = new List<PendingEvent>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var e = batch[i];
            if (e.Check.Stamp != fresh.Stamp)
            {
                e.Check = IntakeCheck.Run(fresh, e.PayloadObject, e.ReceivedAt);
            }
            if (e.Check.Errors is { } errors)
            {
                answers[i] = (new IntakeResult(null, errors), false);
                continue;
            }
            events.Add(e);
        }
        return events;
    }

    /// <summary>The profile behind every identity of the batch: one set-based lookup where the provider has one, else a prepared lookup per identity.</summary>
    private static async Task ResolveProfilesAsync(StoreTransaction tx, EventSql sql, List<PendingEvent> events, CancellationToken cancellationToken)
    {
        var keys = IdentityKeys(events);
        var found = new Dictionary<(string Namespace, string Value), long>(keys.Count);
        if (keys.Count > 0 && sql.ProfilesByIdentities is { } setBased)
        {
            await using var command = tx.Command(setBased);
            command.AddParameter("@namespaces", keys.Select(k => k.Namespace).ToArray());
            command.AddParameter("@values", keys.Select(k => k.Value).ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await ReadProfilesAsync(reader, found, cancellationToken);
        }
        else if (keys.Count > 0)
        {
            await using var command = tx.Command(sql.ProfileByIdentity);
            var ns = command.AddParameter("@ns", "");
            var value = command.AddParameter("@value", "");
            await command.PrepareAsync(cancellationToken);
            foreach (var key in keys)
            {
                ns.Value = key.Namespace;
                value.Value = key.Value;
                if (await command.ExecuteScalarAsync(cancellationToken) is long profileId)
                {
                    found[key] = profileId;
                }
            }
        }
        foreach (var e in events)
        {
            e.Resolve(found);
        }
    }

    private static List<(string Namespace, string Value)> IdentityKeys(IEnumerable<PendingEvent> events) =>
        events.SelectMany(e => e.Check.Identities)
            .Where(i => i.Value is not null)
            .Select(i => (i.Config.Namespace, Value: i.Value!))
            .Distinct()
            .ToList();

    /// <summary>Reads <see cref="EventSql.ProfilesByIdentities"/>'s rows.</summary>
    private static async Task ReadProfilesAsync(DbDataReader reader, Dictionary<(string Namespace, string Value), long> found, CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            found[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        }
    }
}
