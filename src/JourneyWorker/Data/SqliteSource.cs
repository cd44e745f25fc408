using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Data;

/// <summary>
/// The SQLite database `migrate-data` reads: opened read-only, and read in one transaction, so that counts and rows
/// come from the same snapshot even if something still wrote to the file (WAL readers see one moment throughout).
/// </summary>
public sealed class SqliteSource : IAsyncDisposable
{
    private readonly SqliteConnection _connection;
    private SqliteTransaction? _snapshot;

    private SqliteSource(SqliteConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    public string Path { get; }

    public static async Task<SqliteSource> OpenAsync(string path, CancellationToken cancellationToken)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 60,
        };
        var connection = new SqliteConnection(connectionString.ToString());
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (SqliteException)
        {
            await connection.DisposeAsync();
            throw;
        }
        return new SqliteSource(connection, path);
    }

    /// <summary>
    /// Why the file's schema is not the one this build copies from, or null when it is: migrations this build has
    /// and the file lacks (an older service wrote it), or the other way round (a newer one did).
    /// </summary>
    public async Task<string?> SchemaProblemAsync(CancellationToken cancellationToken)
    {
        await using var db = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite(_connection).Options);
        var known = db.Database.GetMigrations().ToList();
        var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).ToList();
        if (applied.Count == 0)
        {
            return "it holds no JourneyWorker tables";
        }
        if (applied.Except(known).ToList() is [var newer, ..])
        {
            return $"a newer JourneyWorker wrote it (migration {newer} is unknown to this one): run migrate-data from that version";
        }
        if (known.Except(applied).ToList() is [var missing, ..])
        {
            return $"its schema is older than this version's (migration {missing} is not applied): start this version of the service on it once "
                + "(it applies migrations at start), stop it, and run migrate-data again";
        }
        return null;
    }

    /// <summary>Starts the snapshot every later read comes from.</summary>
    public void BeginSnapshot() => _snapshot = _connection.BeginTransaction(deferred: true);

    public async Task<long> CountAsync(string table, CancellationToken cancellationToken) =>
        Convert.ToInt64(await ScalarAsync($"""SELECT count(*) FROM "{table}" """, cancellationToken), CultureInfo.InvariantCulture);

    /// <summary>Instances whose lease has not yet expired: a worker may still be running on this file.</summary>
    public async Task<long> LiveLeasesAsync(long nowUnixMs, CancellationToken cancellationToken)
    {
        await using var command = Command(new Runtime.Store.SqliteInstanceSql().LiveLeases);
        command.Parameters.AddWithValue("@now", nowUnixMs);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>A query for the table's rows, streamed in storage order (for integer keys: id order), with the plan's columns in its order.</summary>
    public SqliteCommand ReadCommand(TableCopy table) =>
        Command($"""SELECT {string.Join(", ", table.Columns.Select(c => $"\"{c.Name}\""))} FROM "{table.Table}" """);

    public async ValueTask DisposeAsync()
    {
        if (_snapshot is not null)
        {
            await _snapshot.DisposeAsync();
        }
        await _connection.DisposeAsync();
    }

    private async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(sql);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _snapshot;
        return command;
    }
}
