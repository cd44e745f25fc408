using JourneyWorker.Data;
using JourneyWorker.Journeys;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Runtime;

/// <summary>
/// Moves waiting instances on when what they wait for arrives (an event or a reaction). The move is
/// one conditional UPDATE that succeeds only if the instance still waits for exactly that and no
/// worker holds it, so an arrival racing a timeout is decided once: whoever writes first wins.
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

    /// <summary>Resumes the instances of a profile waiting for <paramref name="waitingFor"/>; returns how many moved.</summary>
    public async Task<int> ResumeAsync(
        JourneyDbContext db, long profileId, string waitingFor, string? eventName, string? payload,
        DateTimeOffset now, string detail, CancellationToken cancellationToken, long? instanceId = null)
    {
        var candidates = await db.JourneyInstances.AsNoTracking()
            .Where(i => i.ProfileId == profileId && i.WaitingFor == waitingFor && i.Status == InstanceStatus.Waiting)
            .Where(i => instanceId == null || i.Id == instanceId)
            .Select(i => new { i.Id, i.JourneyVersionId, i.NodeId })
            .ToListAsync(cancellationToken);
        var resumed = 0;
        foreach (var candidate in candidates)
        {
            var journey = await catalog.GetAsync(db, candidate.JourneyVersionId, cancellationToken);
            if (journey is null || candidate.NodeId is null || !journey.Nodes.TryGetValue(candidate.NodeId, out var node))
            {
                continue;
            }

            var seq = await ExecuteResumeAsync(db, candidate.Id, node.Next, waitingFor, eventName, payload, now, cancellationToken);
            if (seq is not { } s)
            {
                continue;
            }

            db.InstanceSteps.Add(new InstanceStep
            {
                InstanceId = candidate.Id,
                Seq = s,
                NodeId = node.Id!,
                Outcome = StepOutcome.Succeeded,
                At = now.UtcDateTime,
                Detail = detail,
            });
            resumed++;
        }
        await db.SaveChangesAsync(cancellationToken);
        return resumed;
    }

    private static async Task<int?> ExecuteResumeAsync(
        JourneyDbContext db, long id, string? next, string waitingFor, string? eventName, string? payload, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = ResumeSql;
        command.AddParameter("$id", id);
        command.AddParameter("$next", next);
        command.AddParameter("$now", now.ToUnixTimeMilliseconds());
        command.AddParameter("$waitingFor", waitingFor);
        command.AddParameter("$eventName", eventName);
        command.AddParameter("$payload", payload);
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? null : Convert.ToInt32(result, System.Globalization.CultureInfo.InvariantCulture);
    }

}
