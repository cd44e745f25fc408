using JourneyWorker.Data;
using JourneyWorker.Journeys;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Runtime;

/// <summary>An instance waiting for something, as the resumer needs it.</summary>
public sealed record WaitingInstance(long Id, long ProfileId, string WaitingFor, Guid JourneyVersionId, string? NodeId);

/// <summary>
/// Moves waiting instances on when what they wait for arrives (an event or a reaction). The move is
/// one conditional UPDATE that succeeds only if the instance still waits for exactly that and no
/// worker holds it, so an arrival racing a timeout is decided once: whoever writes first wins.
/// Raw SQL throughout: event intake calls this for every event of a group commit.
/// </summary>
public sealed class WaitResumer(JourneyCatalog catalog)
{
    private const string ResumeSql = """
        UPDATE "JourneyInstances"
        SET "Status" = 'active', "NodeId" = $next, "DueAt" = $now, "WaitingFor" = NULL,
            "LeaseOwner" = NULL, "LeaseUntil" = NULL, "NextSeq" = "NextSeq" + 1,
            "Context" = CASE WHEN $eventName IS NULL THEN "Context"
                             ELSE json_set("Context", '$.events."' || $eventName || '"', json($payload)) END
        WHERE "Id" = $id AND "Status" = 'waiting' AND "WaitingFor" = $waitingFor
          AND ("LeaseUntil" IS NULL OR "LeaseUntil" < $now) AND "DueAt" > $now
        RETURNING "NextSeq" - 1
        """;

    // Uses the (ProfileId, WaitingFor) index once per profile of a whole batch.
    private const string WaitingSql = """
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "ProfileId" IN (SELECT value FROM json_each($ids)) AND "Status" = 'waiting' AND "WaitingFor" LIKE 'event:%'
        """;

    /// <summary>Resumes the instances of a profile waiting for <paramref name="waitingFor"/>; returns how many moved.</summary>
    public async Task<int> ResumeAsync(
        JourneyDbContext db, long profileId, string waitingFor, string? eventName, string? payload,
        DateTimeOffset now, string detail, CancellationToken cancellationToken, long? instanceId = null)
    {
        var candidates = await db.JourneyInstances.AsNoTracking()
            .Where(i => i.ProfileId == profileId && i.WaitingFor == waitingFor && i.Status == InstanceStatus.Waiting)
            .Where(i => instanceId == null || i.Id == instanceId)
            .Select(i => new WaitingInstance(i.Id, i.ProfileId, i.WaitingFor!, i.JourneyVersionId, i.NodeId))
            .ToListAsync(cancellationToken);
        await db.Database.OpenConnectionAsync(cancellationToken);
        return await ResumeAsync(db, candidates, waitingFor, eventName, payload, now, detail, cancellationToken);
    }

    /// <summary>
    /// The instances of these profiles that wait for any event, read once for a batch of events. Only
    /// the runner makes an instance wait, and it does not run while the batch holds the write gate,
    /// so the list stays complete for the batch; the conditional UPDATE skips any it already moved.
    /// </summary>
    public static async Task<List<WaitingInstance>> FindWaitingForEventsAsync(
        JourneyDbContext db, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        var found = new List<WaitingInstance>();
        if (profileIds.Count == 0)
        {
            return found;
        }
        await using var command = Command(db, WaitingSql);
        command.AddParameter("$ids", System.Text.Json.JsonSerializer.Serialize(profileIds));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new WaitingInstance(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                Guid.Parse(reader.GetString(3)), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
        return found;
    }

    /// <summary>Resumes those of <paramref name="candidates"/> that still wait for <paramref name="waitingFor"/>; returns how many moved.</summary>
    public async Task<int> ResumeAsync(
        JourneyDbContext db, IEnumerable<WaitingInstance> candidates, string waitingFor, string? eventName, string? payload,
        DateTimeOffset now, string detail, CancellationToken cancellationToken)
    {
        var resumed = 0;
        foreach (var candidate in candidates)
        {
            if (candidate.WaitingFor != waitingFor)
            {
                continue;
            }
            var journey = await catalog.GetAsync(db, candidate.JourneyVersionId, cancellationToken);
            if (journey is null || candidate.NodeId is null || !journey.Nodes.TryGetValue(candidate.NodeId, out var node))
            {
                continue;
            }

            await using var resume = Command(db, ResumeSql);
            resume.AddParameter("$id", candidate.Id);
            resume.AddParameter("$next", node.Next);
            resume.AddParameter("$now", now.ToUnixTimeMilliseconds());
            resume.AddParameter("$waitingFor", waitingFor);
            resume.AddParameter("$eventName", eventName);
            resume.AddParameter("$payload", payload);
            var result = await resume.ExecuteScalarAsync(cancellationToken);
            if (result is null or DBNull)
            {
                continue;
            }

            await using var step = Command(db, InstanceBatchWriter.InsertStepSql);
            step.AddParameter("$instance", candidate.Id);
            step.AddParameter("$seq", Convert.ToInt32(result, System.Globalization.CultureInfo.InvariantCulture));
            step.AddParameter("$node", node.Id!);
            step.AddParameter("$outcome", StepOutcome.Succeeded);
            step.AddParameter("$at", now.UtcDateTime);
            step.AddParameter("$detail", detail);
            await step.ExecuteNonQueryAsync(cancellationToken);
            resumed++;
        }
        return resumed;
    }

    private static System.Data.Common.DbCommand Command(JourneyDbContext db, string sql)
    {
        // The caller owns the transaction; the connection is open inside it.
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        return command;
    }
}
