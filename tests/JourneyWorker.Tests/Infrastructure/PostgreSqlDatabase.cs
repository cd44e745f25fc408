using System.Collections.Concurrent;
using Npgsql;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>A database of its own on the test server: created empty, dropped with whatever still uses it.</summary>
public sealed class PostgreSqlDatabase
{
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

    /// <summary>The databases of this test run that are still there.</summary>
    public static IReadOnlyCollection<PostgreSqlDatabase> NotDropped() => [.. Live.Values];

    public void Drop()
    {
        // The stopped host's idle pooled connections would keep the database in use. Npgsql's pools are
        // global and keyed by connection string, so all are cleared (busy connections close when returned);
        // FORCE ends whatever is still connected, such as a host stopped mid-work.
        NpgsqlConnection.ClearAllPools();
        Execute($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
        Live.TryRemove(Name, out _);
    }

    private void Execute(string sql)
    {
        using var connection = new NpgsqlConnection(_server);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
