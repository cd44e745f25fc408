using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Runtime;

/// <summary>
/// Puts profiles into a journey version, set-based: one INSERT … SELECT per chunk that skips
/// profiles already running in the journey (any version) or refused by the re-entrance rules, so a
/// repeated or resumed admission is harmless. The caller owns the transaction.
/// </summary>
public static class JourneyAdmission
{
    private const string InsertSql = """
        INSERT OR IGNORE INTO "JourneyInstances"
            ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
        SELECT $journey, $version, p."Id", 'active', $node, $now, $context, $test, 2, $deadline, $entered
        FROM "Profiles" p
        WHERE p."Id" IN (SELECT value FROM json_each($ids))
          AND ($testOnly = 0 OR p."IsTest" = 1)
          AND NOT EXISTS (
              SELECT 1 FROM "JourneyInstances" i
              WHERE i."JourneyId" = $journey AND i."ProfileId" = p."Id"
                AND (i."Status" IN ('active', 'waiting') OR $reentry = 0 OR i."EndedAt" > $cutoff))
        ORDER BY p."Id"
        RETURNING "Id"
        """;

    private const string StepSql = """
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail") VALUES ($instance, $seq, $node, $outcome, $at, $detail)
        """;

    /// <summary>Admits the given profiles; returns the ids of the instances created.</summary>
    public static async Task<List<long>> AdmitAsync(
        JourneyDbContext db, CompiledJourney journey, IReadOnlyCollection<long> profileIds, bool testOnly,
        DateTimeOffset now, string detail, string? context, CancellationToken cancellationToken)
    {
        var created = new List<long>(profileIds.Count);
        if (profileIds.Count == 0 || journey.Start is null)
        {
            return created;
        }

        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = InsertSql;
            insert.AddParameter("$journey", Sql.Guid(journey.Version.JourneyId));
            insert.AddParameter("$version", Sql.Guid(journey.Version.Id));
            insert.AddParameter("$node", (object?)journey.Start.Next ?? DBNull.Value);
            insert.AddParameter("$now", now.ToUnixTimeMilliseconds());
            insert.AddParameter("$context", context ?? "{}");
            insert.AddParameter("$test", testOnly ? 1 : 0);
            insert.AddParameter("$deadline", (now + journey.Timeout).ToUnixTimeMilliseconds());
            insert.AddParameter("$entered", now.UtcDateTime);
            insert.AddParameter("$ids", JsonSerializer.Serialize(profileIds));
            insert.AddParameter("$testOnly", testOnly ? 1 : 0);
            insert.AddParameter("$reentry", journey.ReentranceAllowed ? 1 : 0);
            insert.AddParameter("$cutoff", (now - journey.ReentranceWait).UtcDateTime);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                created.Add(reader.GetInt64(0));
            }
        }

        await using var step = connection.CreateCommand();
        step.Transaction = transaction;
        step.CommandText = StepSql;
        var instance = step.AddParameter("$instance", 0L);
        var seq = step.AddParameter("$seq", 0);
        step.AddParameter("$node", journey.Start.Id!);
        var outcome = step.AddParameter("$outcome", "");
        step.AddParameter("$at", now.UtcDateTime);
        step.AddParameter("$detail", detail);
        await step.PrepareAsync(cancellationToken);
        foreach (var id in created)
        {
            instance.Value = id;
            seq.Value = 0;
            outcome.Value = StepOutcome.Entered;
            await step.ExecuteNonQueryAsync(cancellationToken);
            seq.Value = 1;
            outcome.Value = StepOutcome.Succeeded;
            await step.ExecuteNonQueryAsync(cancellationToken);
        }

        return created;
    }

}

/// <summary>Values in the shapes EF Core's SQLite provider stores them, for raw SQL on the same tables.</summary>
public static class Sql
{
    public static string Guid(Guid value) => value.ToString().ToUpperInvariant();
}
