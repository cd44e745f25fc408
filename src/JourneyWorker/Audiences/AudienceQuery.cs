using JourneyWorker.Data;
using JourneyWorker.Expressions;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Audiences;

/// <summary>
/// Audience membership computed in SQLite over <c>Profiles.Attributes</c>, never by loading profiles into memory.
/// The rule must have been validated (<see cref="RuleChecks"/>); a rule that does not parse throws <see cref="ExpressionParseException"/>.
/// </summary>
public static class AudienceQuery
{
    /// <summary>
    /// The next chunk of member ids after <paramref name="afterId"/>, ascending; the engine pages with the last id it got.
    /// <paramref name="testOnly"/> keeps test profiles only (journey test mode).
    /// </summary>
    public static Task<List<long>> ReadIdsAsync(
        JourneyDbContext db, string rule, long afterId, int limit, bool testOnly, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var where = Where(rule, now);
        var sql = $"SELECT \"Id\" AS \"Value\" FROM \"Profiles\" WHERE \"Id\" > @after AND {where.Sql}"
            + (testOnly ? " AND \"IsTest\" = 1" : "") + " ORDER BY \"Id\" LIMIT @limit";
        object[] parameters = [.. where.ToSqliteParameters(), new SqliteParameter("@after", afterId), new SqliteParameter("@limit", limit)];
        return db.Database.SqlQueryRaw<long>(sql, parameters).ToListAsync(ct);
    }

    public static async Task<int> CountAsync(JourneyDbContext db, string rule, DateTimeOffset now, CancellationToken ct)
    {
        var where = Where(rule, now);
        // The fragment's text holds no client data: literals and paths are parameters (see ExpressionSql).
        var sql = "SELECT COUNT(*) AS \"Value\" FROM \"Profiles\" WHERE " + where.Sql;
        var counts = await db.Database.SqlQueryRaw<int>(sql, [.. where.ToSqliteParameters()]).ToListAsync(ct);
        return counts.Single();
    }

    /// <summary>
    /// The rule as a condition on a <c>Profiles</c> row (its parameters are named <c>@p0</c>, <c>@p1</c>, …), for statements
    /// that select members themselves, such as admission's INSERT … SELECT.
    /// </summary>
    public static SqlFragment Where(string rule, DateTimeOffset now) =>
        ExpressionSql.ToSql(ExpressionParser.Parse(rule), "Attributes", now);
}
