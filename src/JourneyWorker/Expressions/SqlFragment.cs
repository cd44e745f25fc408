using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace JourneyWorker.Expressions;

/// <summary>
/// A boolean SQL expression in one <see cref="SqlDialect"/>. Parameter <c>Parameters[i]</c> binds to the name <c>@p{i}</c>
/// (named parameters, usable with a provider command and with EF's <c>FromSqlRaw</c>/<c>SqlQueryRaw</c> via
/// <see cref="ToParameters"/>). The values are plain CLR values: strings, doubles, and for PostgreSQL JSON paths string arrays.
/// </summary>
public sealed record SqlFragment(string Sql, IReadOnlyList<object?> Parameters)
{
    public DbParameter[] ToParameters(SqlDialect dialect) =>
        [.. Parameters.Select((value, i) => dialect.Parameter($"@p{i}", value))];

    public SqliteParameter[] ToSqliteParameters() => [.. ToParameters(SqlDialect.Sqlite).Cast<SqliteParameter>()];

    public NpgsqlParameter[] ToNpgsqlParameters() => [.. ToParameters(SqlDialect.PostgreSql).Cast<NpgsqlParameter>()];
}
