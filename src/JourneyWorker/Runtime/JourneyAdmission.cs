using System.Data.Common;
using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Journeys;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Runtime;

/// <summary>
/// Puts profiles into a journey version, set-based: one INSERT … SELECT per chunk that skips
/// profiles already running in the journey (any version) or refused by the re-entrance rules, so a
/// repeated or resumed admission is harmless. An admission writes the instance rows only: their
/// entry steps are presented from them (<see cref="EntrySteps"/>). The caller owns the transaction.
/// </summary>
public static class JourneyAdmission
{
    // New instances for the profiles (p) of the given source that pass the condition and are not refused.
    private static string InsertSql(string profiles, string condition, string returning) => $"""
        INSERT OR IGNORE INTO "JourneyInstances"
            ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
        SELECT $journey, $version, p."Id", 'active', $node, $now, $context, $test, {EntrySteps.FirstStoredSeq}, $deadline, $entered
        FROM {profiles} p
        WHERE {condition}
          AND ($testOnly = 0 OR p."IsTest" = 1)
          AND NOT EXISTS (
              SELECT 1 FROM "JourneyInstances" i
              WHERE i."JourneyId" = $journey AND i."ProfileId" = p."Id"
                AND (i."Status" IN ('active', 'waiting') OR $reentry = 0 OR i."EndedAt" > $cutoff))
        ORDER BY p."Id"
        RETURNING "{returning}"
        """;

    private static readonly string ByIdsSql = InsertSql("\"Profiles\"", "p.\"Id\" IN (SELECT value FROM json_each($ids))", "Id");

    // The audience's next members after $after, test profiles only in test mode.
    private static string MembersSql(SqlFragment members) => $"""
        SELECT "Id", "IsTest" FROM "Profiles"
        WHERE "Id" > $after AND ({members.Sql}) AND ($testOnly = 0 OR "IsTest" = 1)
        ORDER BY "Id" LIMIT $limit
        """;

    /// <summary>
    /// Admits the given profiles; returns the ids of the instances created. How they came in is not stored:
    /// history derives it from the start node (<see cref="EntrySteps.Detail"/>).
    /// </summary>
    public static async Task<List<long>> AdmitAsync(
        JourneyDbContext db, CompiledJourney journey, IReadOnlyCollection<long> profileIds, bool testOnly,
        DateTimeOffset now, string? context, CancellationToken cancellationToken)
    {
        var created = new List<long>(profileIds.Count);
        if (profileIds.Count == 0 || journey.Start is null)
        {
            return created;
        }

        await using var insert = Command(db, ByIdsSql, journey, testOnly, now, context);
        insert.AddParameter("$ids", JsonSerializer.Serialize(profileIds));
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            created.Add(reader.GetInt64(0));
        }
        return created;
    }

    /// <summary>
    /// Admits the audience's next <paramref name="limit"/> members after profile <paramref name="afterId"/>
    /// (those already in are skipped), selecting and inserting them in one statement so that no id list
    /// goes back and forth. Returns how many were admitted and the last member looked at, or null for
    /// the last as none are left after these. One call never looks at more than <paramref name="limit"/>
    /// members, so a repeated read over an audience already in holds the writer only briefly per call.
    /// </summary>
    public static async Task<(int Admitted, long? Last)> AdmitMembersAsync(
        JourneyDbContext db, CompiledJourney journey, SqlFragment members, long afterId, int limit, bool testOnly,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (journey.Start is null)
        {
            return (0, null);
        }

        // The fragment's text holds no client data: literals and paths are parameters (see ExpressionSql).
        var source = MembersSql(members);
        var (admitted, last) = (0, afterId);
        await using (var insert = Command(db, InsertSql($"({source})", "1", "ProfileId"), journey, testOnly, now, null))
        {
            AddMemberParameters(insert, members, afterId, limit);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                admitted++;
                last = Math.Max(last, reader.GetInt64(0));
            }
        }
        if (admitted == limit)
        {
            return (admitted, last);
        }

        // Some were skipped or the audience ran out: only then is the page looked at again to learn which.
        await using var probe = Raw(db, $"""SELECT count(*), max("Id") FROM ({source})""");
        probe.AddParameter("$testOnly", testOnly ? 1 : 0);
        AddMemberParameters(probe, members, afterId, limit);
        await using var page = await probe.ExecuteReaderAsync(cancellationToken);
        await page.ReadAsync(cancellationToken);
        return (admitted, page.GetInt64(0) < limit ? null : page.GetInt64(1));
    }

    private static void AddMemberParameters(DbCommand command, SqlFragment members, long afterId, int limit)
    {
        command.AddParameter("$after", afterId);
        command.AddParameter("$limit", limit);
        for (var i = 0; i < members.Parameters.Count; i++)
        {
            command.AddParameter($"@p{i}", members.Parameters[i]);
        }
    }

    private static DbCommand Raw(JourneyDbContext db, string sql)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        return command;
    }

    private static DbCommand Command(JourneyDbContext db, string sql, CompiledJourney journey, bool testOnly, DateTimeOffset now, string? context)
    {
        var command = Raw(db, sql);
        command.AddParameter("$journey", Sql.Guid(journey.Version.JourneyId));
        command.AddParameter("$version", Sql.Guid(journey.Version.Id));
        command.AddParameter("$node", (object?)journey.Start!.Next ?? DBNull.Value);
        command.AddParameter("$now", now.ToUnixTimeMilliseconds());
        command.AddParameter("$context", context ?? "{}");
        command.AddParameter("$test", testOnly ? 1 : 0);
        command.AddParameter("$deadline", (now + journey.Timeout).ToUnixTimeMilliseconds());
        command.AddParameter("$entered", now.UtcDateTime);
        command.AddParameter("$testOnly", testOnly ? 1 : 0);
        command.AddParameter("$reentry", journey.ReentranceAllowed ? 1 : 0);
        command.AddParameter("$cutoff", (now - journey.ReentranceWait).UtcDateTime);
        return command;
    }
}

/// <summary>Values in the shapes EF Core's SQLite provider stores them, for raw SQL on the same tables.</summary>
public static class Sql
{
    public static string Guid(Guid value) => value.ToString().ToUpperInvariant();
}
