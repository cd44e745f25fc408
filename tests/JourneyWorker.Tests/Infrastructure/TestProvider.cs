namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// Which database the suite's hosts store on. CI runs the whole suite twice: on SQLite (a file per
/// host, the default) and with <see cref="PostgresVariable"/> set to a server's connection string
/// (.ci/postgres.sh starts a throwaway one), on PostgreSQL (a database per host on that server).
/// </summary>
public static class TestProvider
{
    public const string PostgresVariable = "JOURNEYWORKER_TEST_POSTGRES";

    /// <summary>The server of the PostgreSQL pass (an Npgsql connection string to its maintenance database), or null.</summary>
    public static string? PostgresServer { get; } =
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } server ? server : null;

    /// <summary>Whether the hosts store on PostgreSQL: on the PostgreSQL pass, given an app that can.</summary>
    public static bool IsPostgreSql => PostgresServer is not null && AppStorage.StoresOnPostgreSql;

    /// <summary>
    /// Skips the calling test on PostgreSQL. Only for tests of SQLite itself (its files, PRAGMAs,
    /// query plans, backup API, the SQLite translation of rules), never for behaviour both must share.
    /// </summary>
    public static void SqliteOnly(string why)
    {
        if (IsPostgreSql)
        {
            Assert.Skip($"SQLite only: {why}");
        }
    }
}
