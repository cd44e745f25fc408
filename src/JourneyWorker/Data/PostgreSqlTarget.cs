using JourneyWorker.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace JourneyWorker.Data;

/// <summary>One table's rows: in the source, written by the copy, and counted in the target before it commits.</summary>
public sealed record TableCount(string Table, long Source, long Copied, long Target)
{
    public bool Matches => Source == Copied && Copied == Target;
}

/// <summary>How a copy ended: refused (the target already held rows), or copied with the counts it checked.</summary>
public sealed record CopyResult(string? TableWithRows, IReadOnlyList<TableCount> Counts)
{
    public bool Committed => TableWithRows is null && Counts.All(c => c.Matches);
}

/// <summary>
/// The PostgreSQL database `migrate-data` fills: migrated like a worker would, then filled in one transaction
/// (every table, the identity sequences moved past the copied ids, the counts checked) that commits only when
/// everything matched, so that a failure or a mismatch leaves it as it was.
/// </summary>
public sealed class PostgreSqlTarget(NpgsqlDataSource dataSource, IReadOnlyList<TableCopy> plan, TextWriter output)
{
    public IReadOnlyList<TableCopy> Plan => plan;

    /// <summary>What the target is doing, for the message when it fails.</summary>
    public string Step { get; private set; } = "connecting";

    /// <summary>The first of the model's tables that holds a row; tables the migrations have not made yet hold none.</summary>
    public async Task<string?> FirstTableWithRowsAsync(CancellationToken cancellationToken)
    {
        Step = "looking for rows already there";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FirstTableWithRowsAsync(connection, null, cancellationToken);
    }

    /// <summary>The PostgreSQL migrations, as a worker applies them at start; returns how many were pending.</summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        Step = "applying the PostgreSQL migrations";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var db = new PostgreSqlJourneyDbContext(new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>().UseNpgsql(connection).Options);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
        await JourneyMigrations.ApplyAsync(db.Database, cancellationToken);
        return pending;
    }

    public async Task<CopyResult> CopyAsync(SqliteSource source, IReadOnlyDictionary<string, long> sourceCounts, CancellationToken cancellationToken)
    {
        Step = "locking the tables";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // A worker already started on the target makes the copy fail soon and clearly rather than wait without end;
        // a server-wide statement timeout would cut a large copy short.
        await ExecuteAsync(connection, transaction, "SET LOCAL lock_timeout = '10s'; SET LOCAL statement_timeout = 0", cancellationToken);
        // Readers may look; nobody writes until the copy commits or rolls back, so the emptiness seen next stays true.
        await ExecuteAsync(connection, transaction, $"LOCK TABLE {string.Join(", ", plan.Select(t => Quote(t.Table)))} IN EXCLUSIVE MODE", cancellationToken);
        if (await FirstTableWithRowsAsync(connection, transaction, cancellationToken) is { } tableWithRows)
        {
            return new CopyResult(tableWithRows, []);
        }

        var copied = new Dictionary<string, long>();
        foreach (var table in plan)
        {
            Step = $"copying {table.Table}";
            copied[table.Table] = await CopyTableAsync(source, table, sourceCounts[table.Table], connection, cancellationToken);
        }

        Step = "moving the identity sequences past the copied ids";
        foreach (var table in plan.Where(t => t.IdentityColumn is not null))
        {
            await ContinueSequenceAsync(connection, transaction, table, cancellationToken);
        }

        Step = "counting the copied rows";
        var counts = new List<TableCount>();
        foreach (var table in plan)
        {
            var target = await ScalarAsync<long>(connection, transaction, $"SELECT count(*) FROM {Quote(table.Table)}", cancellationToken);
            counts.Add(new TableCount(table.Table, sourceCounts[table.Table], copied[table.Table], target));
        }

        var result = new CopyResult(null, counts);
        if (result.Committed)
        {
            Step = "committing";
            await transaction.CommitAsync(cancellationToken);
        }
        return result;
    }

    /// <summary>
    /// Streams the table with binary COPY: rows go from the SQLite reader to the wire as they are read, so memory
    /// stays flat however large the table. The loop is synchronous on purpose: both sides buffer, and an awaited
    /// call per value would cost more than the value.
    /// </summary>
    private async Task<long> CopyTableAsync(SqliteSource source, TableCopy table, long expected, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var values = table.Columns.Select(SqliteToPostgreSqlValues.For).ToArray();
        var progress = new CopyProgress(output, table.Table, expected);
        await using var read = source.ReadCommand(table);
        await using var rows = await read.ExecuteReaderAsync(cancellationToken);
        var columns = string.Join(", ", table.Columns.Select(c => Quote(c.Name)));
        await using var importer = await connection.BeginBinaryImportAsync($"COPY {Quote(table.Table)} ({columns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        while (rows.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            importer.StartRow();
            for (var i = 0; i < values.Length; i++)
            {
                values[i](rows, i, importer);
            }
            progress.Row();
        }
        var written = await importer.CompleteAsync(cancellationToken);
        progress.Done();
        return (long)written;
    }

    /// <summary>The next id the service takes is past every copied one (a table without a sequence is left alone: setval of NULL is NULL).</summary>
    private static Task ContinueSequenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TableCopy table, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            $"SELECT setval(pg_get_serial_sequence(@table, @column), COALESCE(max({Quote(table.IdentityColumn!)}), 0) + 1, false) FROM {Quote(table.Table)}",
            connection, transaction);
        command.Parameters.AddWithValue("table", Quote(table.Table));
        command.Parameters.AddWithValue("column", table.IdentityColumn!);
        return ExecuteAsync(command, cancellationToken);
    }

    private async Task<string?> FirstTableWithRowsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        foreach (var table in plan)
        {
            await using var exists = new NpgsqlCommand("SELECT to_regclass(@table) IS NOT NULL", connection, transaction);
            exists.Parameters.AddWithValue("table", Quote(table.Table));
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!
                && await ScalarAsync<bool>(connection, transaction, $"SELECT EXISTS (SELECT 1 FROM {Quote(table.Table)})", cancellationToken))
            {
                return table.Table;
            }
        }
        return null;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken) =>
        ExecuteAsync(new NpgsqlCommand(sql, connection, transaction), cancellationToken);

    private static async Task ExecuteAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static string Quote(string identifier) => $"\"{identifier}\"";
}
