using Npgsql;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>The PostgreSQL pass's databases: each host gets an empty one of its own, and none outlives its test.</summary>
public sealed class TestDatabaseTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_postgresql_test_database_is_new_and_empty_and_dropped_even_while_connected()
    {
        Assert.SkipWhen(TestProvider.PostgresServer is null, $"needs a PostgreSQL server: set {TestProvider.PostgresVariable} (see .ci/postgres.sh)");
        var server = TestProvider.PostgresServer!;
        var database = PostgreSqlDatabase.Create(server);
        var other = PostgreSqlDatabase.Create(server);
        try
        {
            Assert.NotEqual(database.Name, other.Name);
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync(Ct);
            Assert.Equal(database.Name, connection.Database);
            await using (var tables = new NpgsqlCommand("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'", connection))
            {
                Assert.Equal(0L, await tables.ExecuteScalarAsync(Ct));
            }

            // Still connected, as a host stopped mid-work would be.
            database.Drop();

            Assert.False(await ExistsAsync(server, database.Name), $"{database.Name} is still there");
            Assert.True(await ExistsAsync(server, other.Name));
        }
        finally
        {
            database.Drop();
            other.Drop();
        }
        Assert.False(await ExistsAsync(server, other.Name));
    }

    private static async Task<bool> ExistsAsync(string server, string name)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM pg_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", name);
        return (long)(await command.ExecuteScalarAsync(Ct))! > 0;
    }
}
