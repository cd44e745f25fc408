using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace JourneyWorker.Expressions;

/// <summary>The SQL an expression is translated to: one per storage provider.</summary>
public enum SqlDialect
{
    Sqlite,
    PostgreSql,
}

public static class SqlDialectParameters
{
    /// <summary>A named parameter of the dialect's ADO.NET provider, for raw SQL through EF or a command; null becomes DBNull.</summary>
    public static DbParameter Parameter(this SqlDialect dialect, string name, object? value) => dialect switch
    {
        SqlDialect.Sqlite => new SqliteParameter(name, value ?? DBNull.Value),
        SqlDialect.PostgreSql => new NpgsqlParameter(name, value ?? DBNull.Value),
        _ => throw new ArgumentOutOfRangeException(nameof(dialect), dialect, null),
    };
}
