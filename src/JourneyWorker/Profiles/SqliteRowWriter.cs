using System.Globalization;
using JourneyWorker.Runtime.Store;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace JourneyWorker.Profiles;

/// <summary>
/// One statement (an INSERT, an UPDATE, a lookup) prepared on the SQLite connection of a store transaction, bound by position and run row after row.
/// Microsoft.Data.Sqlite binds every parameter by name at every execution (a name lookup SQLite does by a linear
/// search, plus a reader per execution): for an import's rows that cost more than the statements themselves. Values are bound
/// as Microsoft.Data.Sqlite binds them (booleans as 0/1, dates as its text), so EF Core reads the rows back alike;
/// an error is raised as the SqliteException Microsoft.Data.Sqlite would raise, so a refused batch is retried line by line.
/// </summary>
public sealed class SqliteRowWriter : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private (DateTime Value, string Text) _lastDate = (DateTime.MinValue, "");

    public SqliteRowWriter(StoreTransaction tx, string sql)
    {
        using var command = tx.Command("");
        _db = ((SqliteConnection)command.Connection!).Handle!;
        var rc = raw.sqlite3_prepare_v2(_db, sql, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
        _statement = statement!;
    }

    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    public void Bind(int index, bool value) => Bind(index, value ? 1L : 0L);

    public void Bind(int index, string value) => Check(raw.sqlite3_bind_text(_statement, index, value));

    /// <summary>A date as Microsoft.Data.Sqlite writes it; a batch's rows share one time, so it is formatted once.</summary>
    public void Bind(int index, DateTime value)
    {
        if (value != _lastDate.Value || _lastDate.Text.Length == 0)
        {
            _lastDate = (value, value.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture));
        }
        Bind(index, _lastDate.Text);
    }

    /// <summary>Runs a query of one integer column with the values bound: its first row's value, or null when it has none.</summary>
    public long? ReadInt64()
    {
        var rc = raw.sqlite3_step(_statement);
        long? value = rc == raw.SQLITE_ROW ? raw.sqlite3_column_int64(_statement, 0) : null;
        Finish(rc is raw.SQLITE_ROW ? raw.SQLITE_DONE : rc);
        return value;
    }

    /// <summary>Runs the statement with the values bound; returns the id of the last row it inserted (its rowid).</summary>
    public long Insert()
    {
        Finish(raw.sqlite3_step(_statement));
        return raw.sqlite3_last_insert_rowid(_db);
    }

    private void Finish(int rc)
    {
        if (rc != raw.SQLITE_DONE)
        {
            // The message and extended code are read before the reset, which would replace them.
            try
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
            finally
            {
                raw.sqlite3_reset(_statement);
            }
        }
        raw.sqlite3_reset(_statement);
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
