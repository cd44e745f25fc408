using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace JourneyWorker.Data;

/// <summary>
/// Moves one value from a SQLite row into a binary COPY row. The SQLite shapes are EF Core's: Guids as upper-case
/// text, DateTime as 'yyyy-MM-dd HH:mm:ss.FFFFFFF' text in UTC, booleans as 0/1, TimeSpan as 'd.hh:mm:ss.fffffff'
/// text; PostgreSQL takes them as uuid, timestamp with time zone (which needs DateTime.Kind Utc), boolean and
/// interval. Timestamps and intervals keep microseconds where SQLite kept 100 ns ticks, as they would had the
/// service written them to PostgreSQL.
/// </summary>
public delegate void ValueCopy(SqliteDataReader row, int ordinal, NpgsqlBinaryImporter target);

public static class SqliteToPostgreSqlValues
{
    private const string EfDateTimeFormat = "yyyy-MM-dd HH:mm:ss.FFFFFFF";

    public static ValueCopy For(ColumnCopy column)
    {
        var copy = NotNull(column.Type);
        return column.Nullable
            ? (row, ordinal, target) =>
            {
                if (row.IsDBNull(ordinal))
                {
                    target.WriteNull();
                }
                else
                {
                    copy(row, ordinal, target);
                }
            }
            : copy;
    }

    private static ValueCopy NotNull(NpgsqlDbType type) => type switch
    {
        NpgsqlDbType.Text => (row, i, target) => target.Write(row.GetString(i), NpgsqlDbType.Text),
        NpgsqlDbType.Bigint => (row, i, target) => target.Write(row.GetInt64(i), NpgsqlDbType.Bigint),
        NpgsqlDbType.Integer => (row, i, target) => target.Write(row.GetInt32(i), NpgsqlDbType.Integer),
        NpgsqlDbType.Boolean => (row, i, target) => target.Write(row.GetInt64(i) != 0, NpgsqlDbType.Boolean),
        // GetGuid reads text (any case) and the 16-byte blobs a Guid parameter bound without conversion would have made.
        NpgsqlDbType.Uuid => (row, i, target) => target.Write(row.GetGuid(i), NpgsqlDbType.Uuid),
        NpgsqlDbType.TimestampTz => (row, i, target) => target.Write(UtcDateTime(row, i), NpgsqlDbType.TimestampTz),
        NpgsqlDbType.Interval => (row, i, target) => target.Write(row.GetTimeSpan(i), NpgsqlDbType.Interval),
        _ => throw new NotSupportedException($"No copy for PostgreSQL type {type}."),
    };

    /// <summary>EF's text form first (fast, exact); anything else SQLite may hold (an offset, 'T', julian days) through the general readers.</summary>
    public static DateTime UtcDateTime(SqliteDataReader row, int ordinal)
    {
        const DateTimeStyles utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        if (row.GetFieldType(ordinal) == typeof(string))
        {
            var text = row.GetString(ordinal);
            return DateTime.TryParseExact(text, EfDateTimeFormat, CultureInfo.InvariantCulture, utc, out var exact)
                ? exact
                : DateTime.Parse(text, CultureInfo.InvariantCulture, utc);
        }
        return DateTime.SpecifyKind(row.GetDateTime(ordinal), DateTimeKind.Utc);
    }
}
