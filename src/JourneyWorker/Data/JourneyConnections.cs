using System.Data.Common;
using JourneyWorker.Infrastructure;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace JourneyWorker.Data;

/// <summary>
/// The configured database: its provider, connection string and, on PostgreSQL, the one Npgsql data source
/// (connection pool) that EF Core and the raw hot paths share.
/// </summary>
public sealed class JourneyConnections : IAsyncDisposable
{
    private JourneyConnections(StorageProvider provider, string connectionString, NpgsqlDataSource? dataSource)
    {
        Provider = provider;
        ConnectionString = connectionString;
        DataSource = dataSource;
    }

    public StorageProvider Provider { get; }

    public string ConnectionString { get; }

    public NpgsqlDataSource? DataSource { get; }

    public static JourneyConnections Create(StorageOptions storage, string connectionString, string contentRoot) =>
        storage.Provider == StorageProvider.PostgreSql
            ? new JourneyConnections(StorageProvider.PostgreSql, connectionString, new NpgsqlDataSourceBuilder(connectionString).Build())
            : new JourneyConnections(StorageProvider.Sqlite, AbsoluteSqlite(connectionString, contentRoot, storage), null);

    /// <summary>A new, closed connection for raw reads on the hot paths (no EF context to set up).</summary>
    public DbConnection CreateConnection() => DataSource is { } pool ? pool.CreateConnection() : new SqliteConnection(ConnectionString);

    /// <summary>Whether an error is the database itself failing (busy, disk full, gone) rather than one request's data.</summary>
    public bool IsEnvironmental(DbException error) => error switch
    {
        SqliteException s => s.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED or SQLitePCL.raw.SQLITE_IOERR
            or SQLitePCL.raw.SQLITE_FULL or SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_READONLY
            or SQLitePCL.raw.SQLITE_CORRUPT or SQLitePCL.raw.SQLITE_NOTADB,
        // Connection failures, the server shutting down or out of resources (08, 53, 57P), a serialization or deadlock victim.
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("53", StringComparison.Ordinal)
            || p.SqlState.StartsWith("57P", StringComparison.Ordinal) || p.SqlState is "40001" or "40P01",
        NpgsqlException n => n.IsTransient || n.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException,
        _ => false,
    };

    public ValueTask DisposeAsync() => DataSource?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>Relative file names resolve against the content root, and the folder is created, so the default works from any start directory.</summary>
    private static string AbsoluteSqlite(string connectionString, string contentRoot, StorageOptions storage)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:")
        {
            builder.DataSource = Path.GetFullPath(builder.DataSource, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
        }
        builder.DefaultTimeout = (int)storage.BusyTimeout.TotalSeconds;
        builder.Pooling = true;
        return builder.ToString();
    }
}
