using JourneyWorker.Data;
using JourneyWorker.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Data;

/// <summary>What `migrate-data` copies and what it refuses before touching any database (no PostgreSQL server needed).</summary>
public sealed class MigrateDataCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        var exitCode = await MigrateDataCommand.RunAsync(["migrate-data", .. args], output, Ct);
        return (exitCode, output.ToString());
    }

    [Fact]
    public async Task Help_prints_the_usage_and_a_missing_target_is_a_usage_error()
    {
        var (help, usage) = await RunAsync("--help");
        Assert.Equal(0, help);
        Assert.StartsWith("usage: JourneyWorker migrate-data --to", usage, StringComparison.Ordinal);

        var (missing, again) = await RunAsync("--ConnectionStrings:Journeys=Data Source=x.db");
        Assert.Equal(2, missing);
        Assert.StartsWith("usage:", again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_source_must_be_an_existing_SQLite_database_and_the_target_a_PostgreSQL_connection_string()
    {
        const string Target = "Host=127.0.0.1;Port=1;Database=nothing";
        var (provider, providerOutput) = await RunAsync("--to", Target, "--Storage:Provider=PostgreSql");
        Assert.Equal(2, provider);
        Assert.Contains("Storage:Provider is PostgreSql", providerOutput, StringComparison.Ordinal);

        var (target, targetOutput) = await RunAsync("--to=Data Source=journeys.db");
        Assert.Equal(2, target);
        Assert.Contains("not a PostgreSQL connection string", targetOutput, StringComparison.Ordinal);

        var missingFile = Path.Combine(Path.GetTempPath(), $"journeyworker-none-{Guid.NewGuid():N}.db");
        var (source, sourceOutput) = await RunAsync("--to", Target, $"--ConnectionStrings:Journeys=Data Source={missingFile}");
        Assert.Equal(1, source);
        Assert.Contains($"no SQLite database at {missingFile}", sourceOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(missingFile));

        var folder = Directory.CreateTempSubdirectory("journeyworker-migrate-");
        try
        {
            var garbage = Path.Combine(folder.FullName, "garbage.db");
            await File.WriteAllTextAsync(garbage, new string('x', 4096), Ct);
            var (notDatabase, notDatabaseOutput) = await RunAsync("--to", Target, $"--ConnectionStrings:Journeys=Data Source={garbage}");
            Assert.Equal(1, notDatabase);
            Assert.Contains($"cannot copy {garbage}: ", notDatabaseOutput, StringComparison.Ordinal);

            var empty = Path.Combine(folder.FullName, "empty.db");
            await using (var db = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite($"Data Source={empty};Pooling=False").Options))
            {
                await db.Database.ExecuteSqlRawAsync("CREATE TABLE \"Other\" (\"Id\" INTEGER)", Ct);
            }
            var (noSchema, noSchemaOutput) = await RunAsync("--to", Target, $"--ConnectionStrings:Journeys=Data Source={empty}");
            Assert.Equal(1, noSchema);
            Assert.Contains("it holds no JourneyWorker tables", noSchemaOutput, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_plan_copies_every_table_of_the_model_after_the_tables_it_refers_to_and_leaves_leases_out()
    {
        using var postgres = new PostgreSqlJourneyDbContext(new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>().UseNpgsql().Options);
        using var sqlite = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite("Data Source=:memory:").Options);
        var plan = DataCopyPlan.For(postgres.Model);

        var tables = plan.Select(t => t.Table).ToList();
        Assert.Equal(postgres.Model.GetEntityTypes().Select(e => e.GetTableName()!).Order(), tables.Order());
        Assert.Equal(20, tables.Count);
        foreach (var entity in postgres.Model.GetEntityTypes())
        {
            foreach (var foreignKey in entity.GetForeignKeys())
            {
                Assert.True(tables.IndexOf(foreignKey.PrincipalEntityType.GetTableName()!) < tables.IndexOf(entity.GetTableName()!),
                    $"{foreignKey.PrincipalEntityType.GetTableName()} must be copied before {entity.GetTableName()}");
            }
        }

        // Both providers name tables and columns alike: the plan's names are read on SQLite as they are.
        foreach (var table in plan)
        {
            var entity = sqlite.Model.GetEntityTypes().Single(e => e.GetTableName() == table.Table);
            var expected = entity.GetProperties().Select(p => p.GetColumnName()).ToList();
            Assert.Equal(expected.Where(c => table.Table != "JourneyInstances" || c is not ("LeaseOwner" or "LeaseUntil")), table.Columns.Select(c => c.Name));
        }

        Assert.Equal(["EmailFeedback", "FrequencyRules", "InstanceSteps", "JourneyInstances", "MessageReactions", "OutboxMessages", "ProfileIdentities", "Profiles", "PushTokens", "TrackedLinks"],
            plan.Where(t => t.IdentityColumn == "Id").Select(t => t.Table).Order());
        var waitOverride = plan.Single(t => t.Table == "JourneyVersions").Columns.Single(c => c.Name == "WaitOverride");
        Assert.Equal((NpgsqlTypes.NpgsqlDbType.Interval, true), (waitOverride.Type, waitOverride.Nullable));
    }
}
