using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace JourneyWorker.CrashHarness;

/// <summary>
/// The database the workers share, as the harness checks it: statements are written once (quoted identifiers, ids
/// compared as text), each provider opens its own connections. Read-only from the harness's side.
/// </summary>
public abstract class HarnessDatabase : IAsyncDisposable
{
    /// <summary>The workers' settings that point them at this database.</summary>
    public abstract IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>What the summary calls it.</summary>
    public abstract string Description { get; }

    protected abstract DbConnection Open();

    public long Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>The ids of every stored event, as text.</summary>
    public HashSet<string> StoredEventIds()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = """SELECT CAST("Id" AS TEXT) FROM "StoredEvents" """;
        using var reader = command.ExecuteReader();
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    public abstract ValueTask DisposeAsync();
}

/// <summary>One SQLite file in the harness's temp folder (one worker at a time).</summary>
public sealed class SqliteHarnessDatabase(string folder) : HarnessDatabase
{
    private readonly string _file = Path.Combine(folder, "journeys.db");

    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["ConnectionStrings:Journeys"] = $"Data Source={_file}" };

    public override string Description => "SQLite";

    protected override DbConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={_file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A throwaway database on a PostgreSQL server (created empty, dropped at the end), shared by several workers.</summary>
public sealed class PostgreSqlHarnessDatabase : HarnessDatabase
{
    private readonly string _server;
    private readonly string _name;
    private readonly string _connectionString;

    private PostgreSqlHarnessDatabase(string server, string name)
    {
        _server = server;
        _name = name;
        _connectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Storage:Provider"] = "PostgreSql",
        ["ConnectionStrings:Journeys"] = _connectionString,
    };

    public override string Description => "PostgreSQL";

    /// <summary>Creates the database on the server named by <paramref name="server"/> (a user who may create databases).</summary>
    public static async Task<PostgreSqlHarnessDatabase> CreateAsync(string server)
    {
        var database = new PostgreSqlHarnessDatabase(server, "journeyworker_crash_" + Guid.NewGuid().ToString("N")[..12]);
        await database.OnServerAsync($"CREATE DATABASE \"{database._name}\"");
        return database;
    }

    protected override DbConnection Open()
    {
        var connection = new NpgsqlConnection(_connectionString);
        connection.Open();
        return connection;
    }

    public override async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await OnServerAsync($"DROP DATABASE IF EXISTS \"{_name}\" WITH (FORCE)");
    }

    private async Task OnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
