using JourneyWorker.Data;
using JourneyWorker.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Audiences;

/// <summary>
/// Audience membership computed in the database (SQLite or PostgreSQL, whichever the context runs on) over
/// <c>Profiles.Attributes</c>, never by loading profiles into memory.
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
        var dialect = db.Dialect();
        var where = Where(rule, now, dialect);
        // The bare column, not "= 1": SQLite stores a bool as 0/1, PostgreSQL as boolean, and both take it as a condition.
        var sql = $"SELECT \"Id\" AS \"Value\" FROM \"Profiles\" WHERE \"Id\" > @after AND {where.Sql}"
            + (testOnly ? " AND \"IsTest\"" : "") + " ORDER BY \"Id\" LIMIT @limit";
        object[] parameters = [.. where.ToParameters(dialect), dialect.Parameter("@after", afterId), dialect.Parameter("@limit", limit)];
        return db.Database.SqlQueryRaw<long>(sql, parameters).ToListAsync(ct);
    }

    public static async Task<int> CountAsync(JourneyDbContext db, string rule, DateTimeOffset now, CancellationToken ct)
    {
        var dialect = db.Dialect();
        var where = Where(rule, now, dialect);
        // The fragment's text holds no client data: literals and paths are parameters (see ExpressionSql).
        // COUNT(*) is bigint on PostgreSQL; read it as such on both.
        var sql = "SELECT COUNT(*) AS \"Value\" FROM \"Profiles\" WHERE " + where.Sql;
        var counts = await db.Database.SqlQueryRaw<long>(sql, [.. where.ToParameters(dialect)]).ToListAsync(ct);
        return checked((int)counts.Single());
    }

    /// <summary>
    /// The rule as a condition on a <c>Profiles</c> row (its parameters are named <c>@p0</c>, <c>@p1</c>, …), for statements
    /// that select members themselves, such as admission's INSERT … SELECT. <paramref name="dialect"/> is the database's
    /// (<see cref="SqlDialects.Of"/>).
    /// </summary>
    public static SqlFragment Where(string rule, DateTimeOffset now, SqlDialect dialect) =>
        ExpressionSql.ToSql(ExpressionParser.Parse(rule), DocumentColumn(dialect), now, dialect, jsonbColumn: dialect == SqlDialect.PostgreSql);

    /// <summary>
    /// The column rules read a profile's attributes from: on PostgreSQL the jsonb copy the database keeps of them (parsed
    /// once when written, see the ProfileDocument migration), on SQLite the JSON text itself.
    /// </summary>
    public static string DocumentColumn(SqlDialect dialect) => dialect == SqlDialect.PostgreSql ? "Document" : "Attributes";
}
