using System.Collections.Concurrent;
using JourneyWorker.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// A database of its own on the PostgreSQL server named by JOURNEYWORKER_TEST_POSTGRES (an Npgsql connection string whose
/// user may create databases): created empty, dropped with whatever still uses it.
/// </summary>
public sealed class PostgreSqlDatabase : IAsyncDisposable
{
    public const string Variable = "JOURNEYWORKER_TEST_POSTGRES";

    /// <summary>Every test database's name starts so: what is left after a run is easy to find.</summary>
    public const string NamePrefix = "journeyworker_test_";

    /// <summary>Created by this test run and not dropped yet.</summary>
    private static readonly ConcurrentDictionary<string, PostgreSqlDatabase> Live = new();

    private readonly string _server;

    private PostgreSqlDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name, IncludeErrorDetail = true }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>The server's connection string with this database in it, for the host.</summary>
    public string ConnectionString { get; }

    public static PostgreSqlDatabase Create(string server)
    {
        var database = new PostgreSqlDatabase(server, NamePrefix + Guid.NewGuid().ToString("N"));
        // template0: never connected to, so it is never "in use" when tests create databases at once,
        // and it is the smallest empty database there is to copy. The app's migrations make the schema.
        database.Execute($"CREATE DATABASE \"{database.Name}\" TEMPLATE template0");
        Live[database.Name] = database;
        return database;
    }

    /// <summary>A database for a test that needs PostgreSQL itself; without the variable the test is skipped, visibly.</summary>
    public static Task<PostgreSqlDatabase> CreateAsync(CancellationToken cancellationToken)
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(server))
        {
            Assert.Skip($"{Variable} is not set: it names a PostgreSQL server (an Npgsql connection string) where the tests may create databases.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Create(server));
    }

    /// <summary>The databases of this test run that are still there.</summary>
    public static IReadOnlyCollection<PostgreSqlDatabase> NotDropped() => [.. Live.Values];

    /// <summary>A context on this database, for asserting what was (not) written.</summary>
    public PostgreSqlJourneyDbContext Db() =>
        new(new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>().UseNpgsql(ConnectionString).Options);

    public void Drop()
    {
        // The stopped host's idle pooled connections would keep the database in use. Npgsql's pools are
        // global and keyed by connection string, so all are cleared (busy connections close when returned);
        // FORCE ends whatever is still connected, such as a host stopped mid-work.
        NpgsqlConnection.ClearAllPools();
        Execute($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
        Live.TryRemove(Name, out _);
    }

    public ValueTask DisposeAsync()
    {
        Drop();
        return ValueTask.CompletedTask;
    }

    private void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(_server);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
