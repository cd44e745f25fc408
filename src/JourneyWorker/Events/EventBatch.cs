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
/// The database work of one group commit, inside the caller's transaction: per event, store it
/// (the unique index on the idempotency key decides duplicates, also within the batch), resume the
/// instances waiting for it, admit it into journeys that start with it, and record the outcome.
/// Raw prepared SQL in EF Core's stored shapes (Guid as upper-case text, DateTime as
/// 'yyyy-MM-dd HH:mm:ss.FFFFFFF', which Microsoft.Data.Sqlite writes for a DateTime) so EF reads the rows back.
/// </summary>
public static class EventBatch
{
    /// <summary>Writes the batch; returns each event's answer and whether it was stored now (false: a duplicate key answered as before).</summary>
    public static async Task<List<(EventAccepted Answer, bool Stored)>> WriteAsync(
        StoreTransaction tx, EventSql sql, JourneyStarts starts, IReadOnlyList<PendingEvent> events, CancellationToken cancellationToken)
    {
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

        var waiting = (await tx.FindWaitingForEventsAsync(
            events.SelectMany(e => e.Profiles.Select(p => p.ProfileId)).Distinct().ToList(), cancellationToken)).ToLookup(w => w.ProfileId);
        var journeys = await starts.GetAsync(tx, sql, cancellationToken);

        // Most events route nowhere (nothing waits, no journey starts with them): their outcome is
        // known before the insert, which then writes it and needs no UPDATE.
        var routing = new bool[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            routing[i] = events[i].Profiles.Any(p => waiting[p.ProfileId].Any() || journeys[p.EventName].Any());
        }
        var inserted = await InsertAllAsync(tx, sql, events, routing, cancellationToken);

        var answers = new List<(EventAccepted, bool)>(events.Count);
        for (var index = 0; index < events.Count; index++)
        {
            var e = events[index];
            var routes = routing[index];
            var unrouted = routes ? null : Reason(e, 0);
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
            if (!routes)
            {
                answers.Add((new EventAccepted(e.Id, e.Matched, 0, unrouted), true));
                continue;
            }

            var routed = 0;
            foreach (var (eventName, profileId) in e.Profiles)
            {
                routed += await tx.ResumeAsync(waiting[profileId], WaitKeys.Event(eventName), eventName, e.Payload, e.ReceivedAt,
                    $"'{eventName}' event {e.Id}", cancellationToken);
                foreach (var start in journeys[eventName])
                {
                    var context = new JsonObject { ["events"] = new JsonObject { [eventName] = JsonNode.Parse(e.Payload) } }.ToJsonString();
                    routed += (await tx.AdmitAsync(start.Journey, [profileId], start.TestOnly, e.ReceivedAt, context, cancellationToken)).Count;
                }
            }

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
    /// Where the provider batches statements (PostgreSQL: a round trip each otherwise), every event's insert in one
    /// batch, in order, before any routing; returns the rows each stored (0: its idempotency key was taken, possibly by
    /// an earlier event of the same batch). Null where events are inserted one at a time in the loop.
    /// </summary>
    private static async Task<int[]?> InsertAllAsync(
        StoreTransaction tx, EventSql sql, IReadOnlyList<PendingEvent> events, bool[] routing, CancellationToken cancellationToken)
    {
        if (events.Count < 2)
        {
            return null;
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
    public static async Task<EventAccepted?> PreviousAsync(DbConnection connection, EventSql sql, string key, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql.Previous;
        return await PreviousAsync(command, key, cancellationToken);
    }

    private static async Task<EventAccepted?> PreviousAsync(DbCommand command, string key, CancellationToken cancellationToken)
    {
        await using var _ = command;
        command.AddParameter("@key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadPreviousAsync(reader, cancellationToken);
    }

    /// <summary>The answer in the current result of <paramref name="reader"/> (<see cref="EventSql.Previous"/>'s columns), if it has a row.</summary>
    public static async Task<EventAccepted?> ReadPreviousAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new EventAccepted(reader.GetGuid(0), JsonSerializer.Deserialize<List<string>>(reader.GetString(1)) ?? [],
            reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3));
    }
}

/// <summary>A journey version whose entry is an event; <see cref="TestOnly"/> for a draft in test mode.</summary>
public sealed record EventStart(string EventName, CompiledJourney Journey, bool TestOnly);

/// <summary>
/// Which journeys start with which event. Read once per group commit, not per event: one small query
/// lists the live versions and the drafts in test mode with their update stamps, and the lookup is
/// rebuilt only when that list changes (publish, stop, test mode on or off, a draft edited).
/// </summary>
public sealed class JourneyStarts(JourneyCatalog catalog)
{
    private volatile Snapshot? _snapshot;

    /// <summary>Raw: it runs once per group commit. Status and test mode decide membership, UpdatedAt moves on every change of a version.</summary>
    public async Task<ILookup<string, EventStart>> GetAsync(StoreTransaction tx, EventSql sql, CancellationToken cancellationToken)
    {
        string stamp;
        await using (var command = tx.Command(sql.StartsStamp))
        {
            command.AddParameter("@live", JourneyStatus.Live);
            command.AddParameter("@draft", JourneyStatus.Draft);
            stamp = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        var db = tx.Db;
        if (_snapshot is { } snapshot && snapshot.Stamp == stamp)
        {
            return snapshot.Starts;
        }

        var versions = await db.JourneyVersions.AsNoTracking()
            .Where(v => v.Status == JourneyStatus.Live || (v.Status == JourneyStatus.Draft && v.TestMode))
            .Select(v => new { v.Id, v.Status })
            .ToListAsync(cancellationToken);
        var starts = new List<EventStart>();
        foreach (var version in versions)
        {
            if (await catalog.GetAsync(db, version.Id, cancellationToken) is { Start: { Type: NodeTypes.Event, Event: { } name } } journey)
            {
                starts.Add(new EventStart(name, journey, version.Status == JourneyStatus.Draft));
            }
        }
        var lookup = starts.ToLookup(s => s.EventName, StringComparer.Ordinal);
        _snapshot = new Snapshot(stamp, lookup);
        return lookup;
    }

    private sealed record Snapshot(string Stamp, ILookup<string, EventStart> Starts);
}
