using JourneyWorker.Tests.Expressions;
using Npgsql;
using NpgsqlTypes;

[assembly: AssemblyFixture(typeof(PostgresProfiles))]

namespace JourneyWorker.Tests.Expressions;

/// <summary>
/// The agreement tests' profiles in a throwaway PostgreSQL database, made when <see cref="Variable"/> holds an Npgsql
/// connection string to a server where the user may create databases, and dropped when the test run ends. Without it the
/// PostgreSQL cases are skipped, never passed.
/// </summary>
public sealed class PostgresProfiles : IAsyncLifetime
{
    public const string Variable = "JOURNEYWORKER_TEST_POSTGRES";

    private string? _server;
    private string? _database;

    /// <summary>The throwaway database, or null when no server was given.</summary>
    public string? ConnectionString { get; private set; }

    public async ValueTask InitializeAsync()
    {
        _server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(_server))
        {
            return;
        }

        _database = $"journeyworker_test_{Guid.NewGuid():N}";
        await ExecuteOnServerAsync($"CREATE DATABASE \"{_database}\"");
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { Database = _database }.ConnectionString;
        try
        {
            await FillAsync(ConnectionString);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private static async Task FillAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand(
            // The app's columns that rules read: the text as written, and the jsonb copy PostgreSQL keeps of it (ProfileDocument migration).
            """
            CREATE TABLE "Profiles" ("Id" bigint PRIMARY KEY, "Attributes" text NOT NULL, "IsTest" boolean NOT NULL,
                "Document" jsonb GENERATED ALWAYS AS (CAST("Attributes" AS jsonb)) STORED)
            """, connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var copy = await connection.BeginBinaryImportAsync("COPY \"Profiles\" (\"Id\", \"Attributes\", \"IsTest\") FROM STDIN (FORMAT BINARY)");
        foreach (var (id, profile) in EvaluatorSqlAgreementTests.Profiles.Value)
        {
            await copy.StartRowAsync();
            await copy.WriteAsync(id, NpgsqlDbType.Bigint);
            await copy.WriteAsync(profile.ToJsonString(), NpgsqlDbType.Text);
            await copy.WriteAsync(IsTest(id), NpgsqlDbType.Boolean);
        }
        await copy.CompleteAsync();
    }

    /// <summary>Which profiles the table marks as test profiles.</summary>
    public static bool IsTest(long id) => id % 7 == 0;

    /// <summary>The throwaway database's connection string; skips the test when there is no server.</summary>
    public string ConnectionStringOrSkip()
    {
        if (ConnectionString is null)
        {
            Assert.Skip($"{Variable} is not set: no PostgreSQL server to run this case on.");
        }
        return ConnectionString;
    }

    /// <summary>An open connection to the throwaway database; skips the test when there is no server.</summary>
    public NpgsqlConnection OpenOrSkip()
    {
        var connection = new NpgsqlConnection(ConnectionStringOrSkip());
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is null)
        {
            return;
        }
        if (ConnectionString is not null)
        {
            // Pooled connections would keep the database in use.
            await using var pooled = new NpgsqlConnection(ConnectionString);
            NpgsqlConnection.ClearPool(pooled);
        }
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS \"{_database}\"");
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var server = new NpgsqlConnection(_server);
        await server.OpenAsync();
        await using var command = new NpgsqlCommand(sql, server);
        await command.ExecuteNonQueryAsync();
    }
}
