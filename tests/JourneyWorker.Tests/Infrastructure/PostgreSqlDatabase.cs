using JourneyWorker.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// A database of its own on the PostgreSQL server named by JOURNEYWORKER_TEST_POSTGRES (an Npgsql connection string whose
/// user may create databases), dropped afterwards. Without the variable the test is skipped, visibly.
/// </summary>
public sealed class PostgreSqlDatabase : IAsyncDisposable
{
    public const string Variable = "JOURNEYWORKER_TEST_POSTGRES";

    private readonly string _server;

    private PostgreSqlDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public static async Task<PostgreSqlDatabase> CreateAsync(CancellationToken cancellationToken)
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(server))
        {
            Assert.Skip($"{Variable} is not set: it names a PostgreSQL server (an Npgsql connection string) where the tests may create databases.");
        }
        var database = new PostgreSqlDatabase(server, "journeyworker_test_" + Guid.NewGuid().ToString("N")[..12]);
        await database.ExecuteOnServerAsync($"CREATE DATABASE \"{database.Name}\"", cancellationToken);
        return database;
    }

    /// <summary>A context on this database, for asserting what was (not) written.</summary>
    public PostgreSqlJourneyDbContext Db() =>
        new(new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>().UseNpgsql(ConnectionString).Options);

    public async ValueTask DisposeAsync()
    {
        // FORCE: pooled connections of the hosts and contexts that used it may still be open.
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", CancellationToken.None);
    }

    private async Task ExecuteOnServerAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
