using System.Data;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Events;

/// <summary>
/// The database work of one group commit, inside the caller's transaction: check the events again if the configurations
/// changed since they were checked, tie their identities to profiles (one lookup per batch), then per event store it (the
/// unique index on the idempotency key decides duplicates, also within the batch), resume the instances waiting for it,
/// admit it into journeys that start with it, and record the outcome.
/// Raw prepared SQL in EF Core's stored shapes (Guid as upper-case text, DateTime as
/// 'yyyy-MM-dd HH:mm:ss.FFFFFFF', which Microsoft.Data.Sqlite writes for a DateTime) so EF reads the rows back.
/// </summary>
public static partial class EventBatch
{
    /// <summary>Writes the batch; returns each event's answer and whether it was stored now (false: refused, or a duplicate key answered as before).</summary>
    public static async Task<List<(IntakeResult Answer, bool Stored)>> WriteAsync(
        StoreTransaction tx, EventSql sql, EventConfigCache configs, JourneyStarts starts, IReadOnlyList<PendingEvent> batch,
        CancellationToken cancellationToken)
    {
        var answers = new (IntakeResult Answer, bool Stored)[batch.Count];
        List<(EventAccepted Answer, bool Stored)> written;
        if (await PreludeAsync(tx, sql, configs, starts, batch, answers, cancellationToken) is { } prelude)
        {
            written = await WriteCheckedAsync(tx, sql, starts, prelude.Events, prelude, cancellationToken);
        }
        else
        {
            var events = await RecheckAsync(tx, configs, batch, answers, cancellationToken);
            await ResolveProfilesAsync(tx, sql, events, cancellationToken);
            written = await WriteCheckedAsync(tx, sql, starts, events, null, cancellationToken);
        }
        for (int i = 0, j = 0; i < batch.Count; i++)
        {
            if (answers[i].Answer is null)
            {
                var (answer, stored) = written[j++];
                answers[i] = (new IntakeResult(answer, null), stored);
            }
        }
        return [.. answers];
    }

    private static async Task<List<(EventAccepted Answer, bool Stored)>> WriteCheckedAsync(
        StoreTransaction tx, EventSql sql, JourneyStarts starts, IReadOnlyList<PendingEvent> events, Prelude? prelude, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return [];
        }
        // Prepared once per batch: every parameter typed from the start (a NULL too), so no execution changes a type.
        await using var insert = tx.Command(sql.Insert);
        var id = insert.AddParameter("@id", sql.Id(Guid.Empty));
        var at = insert.AddParameter("@at", DateTime.UnixEpoch);
        var key = Typed(insert.AddParameter("@key", null), DbType.String);
        var payload = insert.AddParameter("@payload", "");
        var matched = insert.AddParameter("@matched", "");
        var profile = Typed(insert.AddParameter("@profile", null), DbType.Int64);
        var reasonOnInsert = Typed(insert.AddParameter("@reason", null), DbType.String);
        await insert.PrepareAsync(cancellationToken);
        await using var outcome = tx.Command(sql.Outcome);
        var outcomeId = outcome.AddParameter("@id", sql.Id(Guid.Empty));
        var routedValue = outcome.AddParameter("@routed", 0);
        var reasonValue = Typed(outcome.AddParameter("@reason", null), DbType.String);
        await outcome.PrepareAsync(cancellationToken);

        var waiting = (prelude?.Waiting ?? await tx.FindWaitingForEventsAsync(
            events.SelectMany(e => e.Profiles.Select(p => p.ProfileId)).Distinct().ToList(), cancellationToken)).ToLookup(w => w.ProfileId);
        var journeyRoutes = prelude?.Routes ?? await starts.GetAsync(tx, sql, cancellationToken);
        var journeys = journeyRoutes.Starts;

        // Most events route nowhere (nothing waits, no journey starts with them): their outcome is
        // known before the insert, which then writes it and needs no UPDATE.
        var routing = new bool[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            routing[i] = events[i].Profiles.Any(p => waiting[p.ProfileId].Any() || journeys[p.EventName].Any() || journeyRoutes.Criteria[p.EventName].Any());
        }
        var inserted = await InsertAllAsync(tx, sql, events, routing, cancellationToken);

        var answers = new List<(EventAccepted, bool)>(events.Count);
        for (var index = 0; index < events.Count; index++)
        {
            var e = events[index];
            (e.Resumed, e.Admitted) = (0, 0); // an earlier attempt of a failed batch may have set them
            var mayRoute = routing[index];
            var unrouted = mayRoute ? null : Reason(e, 0);
            id.Value = sql.Id(e.Id);
            int stored;
            if (inserted is not null)
            {
                stored = inserted[index];
            }
            else
            {
                at.Value = e.ReceivedAt.UtcDateTime;
                key.Value = (object?)e.IdempotencyKey ?? DBNull.Value;
                payload.Value = e.Payload;
                matched.Value = JsonSerializer.Serialize(e.Matched);
                profile.Value = e.Profiles.Count > 0 ? e.Profiles[0].ProfileId : DBNull.Value;
                reasonOnInsert.Value = (object?)unrouted ?? DBNull.Value;
                stored = await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            if (stored == 0)
            {
                // Only the idempotency key's unique index can refuse a fresh v7 id: answer what the first answered.
                answers.Add((await PreviousAsync(tx.Command(sql.Previous), e.IdempotencyKey!, cancellationToken)
                    ?? throw new InvalidOperationException("An event was not stored, and no earlier event has its idempotency key."), false));
                continue;
            }
            if (!mayRoute)
            {
                answers.Add((new EventAccepted(e.Id, e.Matched, 0, unrouted), true));
                continue;
            }

            // Exits and goals first: an event that both ends an instance and is what it waits for ends it.
            var ended = await EventCriteria.ApplyAsync(tx, journeyRoutes.Criteria, e, cancellationToken);
            foreach (var (eventName, profileId) in e.Profiles)
            {
                e.Resumed += await tx.ResumeAsync(waiting[profileId], WaitKeys.Event(eventName), eventName, e.Payload, e.ReceivedAt,
                    $"'{eventName}' event {e.Id}", e.TraceParent, cancellationToken);
                foreach (var start in journeys[eventName])
                {
                    var context = new JsonObject { ["events"] = new JsonObject { [eventName] = JsonNode.Parse(e.Payload) } }.ToJsonString();
                    e.Admitted += (await tx.AdmitAsync(start.Journey, [profileId], start.TestOnly, e.ReceivedAt, context, e.TraceParent, cancellationToken)).Count;
                }
            }
            var routed = ended + e.Resumed + e.Admitted;

            var reason = Reason(e, routed);
            outcomeId.Value = id.Value;
            routedValue.Value = routed;
            reasonValue.Value = (object?)reason ?? DBNull.Value;
            await outcome.ExecuteNonQueryAsync(cancellationToken);
            answers.Add((new EventAccepted(e.Id, e.Matched, routed, reason), true));
        }
        return answers;
    }

    /// <summary>
    /// Where the provider inserts a batch in one statement or one batch of statements (PostgreSQL: a round trip each
    /// otherwise), every event's insert before any routing; returns the rows each stored (0: its idempotency key was taken,
    /// possibly by an earlier event of the same batch). Null where events are inserted one at a time in the loop.
    /// </summary>
    private static async Task<int[]?> InsertAllAsync(
        StoreTransaction tx, EventSql sql, IReadOnlyList<PendingEvent> events, bool[] routing, CancellationToken cancellationToken)
    {
        if (events.Count < 2)
        {
            return null;
        }
        if (sql.InsertMany is { } many)
        {
            return await InsertManyAsync(tx, many, events, routing, cancellationToken);
        }
        await using var batch = tx.Batch();
        if (batch is null)
        {
            return null;
        }
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            batch.Add(sql.Insert,
                    ("@id", sql.Id(e.Id)), ("@at", e.ReceivedAt.UtcDateTime), ("@key", e.IdempotencyKey), ("@payload", e.Payload),
                    ("@matched", JsonSerializer.Serialize(e.Matched)), ("@profile", e.Profiles.Count > 0 ? e.Profiles[0].ProfileId : null),
                    ("@reason", routing[i] ? null : Reason(e, 0)))
                .Typed("@key", DbType.String).Typed("@profile", DbType.Int64).Typed("@reason", DbType.String);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
        var stored = new int[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            stored[i] = batch.BatchCommands[i].RecordsAffected;
        }
        return stored;
    }

    private static async Task<int[]> InsertManyAsync(
        StoreTransaction tx, string text, IReadOnlyList<PendingEvent> events, bool[] routing, CancellationToken cancellationToken)
    {
        await using var command = tx.Command(text);
        command.AddParameter("@ids", events.Select(e => e.Id).ToArray());
        command.AddParameter("@ats", events.Select(e => e.ReceivedAt.UtcDateTime).ToArray());
        command.AddParameter("@keys", events.Select(e => e.IdempotencyKey).ToArray());
        command.AddParameter("@payloads", events.Select(e => e.Payload).ToArray());
        command.AddParameter("@matched", events.Select(e => JsonSerializer.Serialize(e.Matched)).ToArray());
        command.AddParameter("@profiles", events.Select(e => e.Profiles.Count > 0 ? e.Profiles[0].ProfileId : (long?)null).ToArray());
        command.AddParameter("@reasons", events.Select((e, i) => routing[i] ? null : Reason(e, 0)).ToArray());
        await command.PrepareAsync(cancellationToken); // as the batch's reads (EventBatch.Prelude.cs)
        var stored = new HashSet<Guid>(events.Count);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(reader.GetGuid(0));
            }
        }
        return [.. events.Select(e => stored.Contains(e.Id) ? 1 : 0)];
    }

    private static DbParameter Typed(DbParameter parameter, DbType type)
    {
        parameter.DbType = type;
        return parameter;
    }

    private static string? Reason(PendingEvent e, int routed)
    {
        var reasons = e.Reasons.ToList();
        if (e.Matched.Count == 0)
        {
            reasons.Add("No event configuration matches this payload.");
        }
        else if (routed == 0 && e.Profiles.Count > 0)
        {
            reasons.Add("No journey instance waits for this event and no live journey starts with it for this profile.");
        }
        return reasons.Count == 0 ? null : string.Join(" ", reasons);
    }

    /// <summary>What the event stored with this idempotency key was answered, if there is one.</summary>
    private static async Task<EventAccepted?> PreviousAsync(DbCommand command, string key, CancellationToken cancellationToken)
    {
        await using var _ = command;
        command.AddParameter("@key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadPreviousAsync(reader, cancellationToken);
    }

    /// <summary>The answer in the current result of <paramref name="reader"/> (<see cref="EventSql.Previous"/>'s columns), if it has a row.</summary>
    private static async Task<EventAccepted?> ReadPreviousAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new EventAccepted(reader.GetGuid(0), JsonSerializer.Deserialize<List<string>>(reader.GetString(1)) ?? [],
            reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3));
    }
}
