using Microsoft.Data.Sqlite;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// The empty database a test host starts on, as the configuration that points the host at it: a
/// SQLite file in a folder of the test's or, on the PostgreSQL pass, a database of its own on the test
/// server, dropped on dispose. Hosts that play one service restarted share one.
/// </summary>
public sealed class TestDatabase : IDisposable
{
    private readonly Action _dispose;
    private int _disposed;

    private TestDatabase(Dictionary<string, string?> hostSettings, Action dispose)
    {
        HostSettings = hostSettings;
        _dispose = dispose;
    }

    public IReadOnlyDictionary<string, string?> HostSettings { get; }

    /// <summary>The SQLite file <c>journeys.db</c> in <paramref name="folder"/>, on either pass.</summary>
    public static TestDatabase CreateSqlite(string folder) => new(SqliteSettings(folder), SqliteConnection.ClearAllPools);

    private static Dictionary<string, string?> SqliteSettings(string folder) => new()
    {
        ["Storage:Provider"] = "Sqlite",
        ["ConnectionStrings:Journeys"] = $"Data Source={Path.Combine(folder, "journeys.db")}",
    };

    /// <summary>A new database; on SQLite the file <c>journeys.db</c> in <paramref name="folder"/>.</summary>
    public static TestDatabase Create(string folder)
    {
        var sqlite = SqliteSettings(folder);
        if (TestProvider.PostgresServer is not { } server)
        {
            return new TestDatabase(sqlite, SqliteConnection.ClearAllPools);
        }

        var database = PostgreSqlDatabase.Create(server);
        if (!TestProvider.IsPostgreSql)
        {
            // An app without the PostgreSQL provider: the host runs on SQLite, but its database is still
            // created and dropped, so that the PostgreSQL pass proves this plumbing on the real server.
            return new TestDatabase(sqlite, () =>
            {
                SqliteConnection.ClearAllPools();
                database.Drop();
            });
        }
        return new TestDatabase(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:Journeys"] = database.ConnectionString,
        }, database.Drop);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _dispose();
        }
    }
}
