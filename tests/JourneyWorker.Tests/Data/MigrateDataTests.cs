using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Data;

/// <summary>
/// `migrate-data` from a SQLite database the real service built into a real PostgreSQL database, and the real service
/// carrying on there. Needs JOURNEYWORKER_TEST_POSTGRES (see <see cref="PostgreSqlDatabase"/>); skipped without it.
/// </summary>
public sealed class MigrateDataTests
{
    private static async Task<(int ExitCode, string Output)> MigrateAsync(JourneyWorkerApp source, string target)
    {
        using var output = new StringWriter();
        var exitCode = await MigrateDataCommand.RunAsync(
            ["migrate-data", "--to", target, $"--ConnectionStrings:Journeys=Data Source={Path.Combine(source.DataDirectory, "journeys.db")}"], output, Ct);
        TestContext.Current.TestOutputHelper?.WriteLine(output.ToString());
        return (exitCode, output.ToString());
    }

    [Fact]
    public async Task Copies_every_row_with_its_id_and_workers_on_PostgreSQL_carry_the_running_journeys_on()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var sqlite = await EngineHarness.StartAsync(Ct, configure: app => app.OnSqlite());
        var journey = await MigrationScenario.BuildAsync(sqlite);
        Dictionary<string, List<string>> before;
        await using (var db = sqlite.App.Db())
        {
            // As a worker killed mid-run leaves it: p1 leased for a day (by the test's clock and the command's). Copied,
            // that lease would hold p1 back from its purchase.
            var until = new[] { sqlite.App.Time.GetUtcNow(), DateTimeOffset.UtcNow }.Max().AddDays(1).ToUnixTimeMilliseconds();
            await db.JourneyInstances.Where(i => i.JourneyId == journey && i.ProfileId == 1)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.LeaseOwner, "worker-that-died").SetProperty(i => i.LeaseUntil, until), Ct);
            before = await MigrationScenario.RowsAsync(db);
        }

        var (exitCode, output) = await MigrateAsync(sqlite.App, pg.ConnectionString);

        Assert.True(exitCode == 0, output);
        Assert.Contains("warning: instances leased right now: 1;", output, StringComparison.Ordinal);
        await using (var db = pg.Db())
        {
            var after = await MigrationScenario.RowsAsync(db);
            Assert.Equal(before.Keys, after.Keys);
            foreach (var (table, rows) in before)
            {
                Assert.True(rows.Count > 0, $"the scenario leaves {table} empty: it would prove nothing");
                Assert.True(output.Contains($"\n{table} ", StringComparison.Ordinal), $"no count line for {table}:\n{output}");
                Assert.Equal(rows, after[table]);
            }
        }

        // The same, field by field, where a wrong conversion would hurt most.
        await using (var from = sqlite.App.Db())
        await using (var to = pg.Db())
        {
            var p2 = await from.JourneyInstances.AsNoTracking().SingleAsync(i => i.JourneyId == journey && i.ProfileId == 2, Ct);
            var copied = await to.JourneyInstances.AsNoTracking().SingleAsync(i => i.Id == p2.Id, Ct);
            Assert.Equal((InstanceStatus.Waiting, "reaction:emailOpened:m", "r"), (copied.Status, copied.WaitingFor, copied.NodeId));
            Assert.Equal(sqlite.App.Time.GetUtcNow().AddHours(1).ToUnixTimeMilliseconds(), copied.DueAt);
            Assert.Equal((p2.DueAt, p2.Context, p2.NextSeq, p2.DeadlineAt, p2.EnteredAt), (copied.DueAt, copied.Context, copied.NextSeq, copied.DeadlineAt, copied.EnteredAt));
            Assert.Equal(DateTimeKind.Utc, copied.EnteredAt.Kind);
            Assert.Null(copied.LeaseOwner);
            Assert.Null(copied.LeaseUntil);

            var p4 = await to.JourneyInstances.AsNoTracking().SingleAsync(i => i.JourneyId == journey && i.ProfileId == 4, Ct);
            Assert.Equal(InstanceStatus.Completed, p4.Status);
            Assert.Contains("Shoes", p4.Context, StringComparison.Ordinal);

            var live = await from.JourneyVersions.AsNoTracking().SingleAsync(v => v.JourneyId == journey, Ct);
            var liveCopy = await to.JourneyVersions.AsNoTracking().SingleAsync(v => v.Id == live.Id, Ct);
            Assert.Equal(("live", live.Definition, live.PublishedAt), (liveCopy.Status, liveCopy.Definition, liveCopy.PublishedAt));
            var tried = await to.JourneyVersions.AsNoTracking().SingleAsync(v => v.TestMode, Ct);
            Assert.Equal(("draft", TimeSpan.FromSeconds(30)), (tried.Status, tried.WaitOverride));
        }

        // A second run finds rows and writes nothing.
        await using (var db = pg.Db())
        {
            var rowsAfterFirst = await MigrationScenario.RowsAsync(db);
            var (again, refusal) = await MigrateAsync(sqlite.App, pg.ConnectionString);
            Assert.NotEqual(0, again);
            Assert.Contains("refused", refusal, StringComparison.Ordinal);
            Assert.Matches("table [A-Za-z]+ has rows", refusal);
            Assert.Equal(rowsAfterFirst, await MigrationScenario.RowsAsync(db));
        }

        await using var worker = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("Storage:Provider", "PostgreSql")
            .With("ConnectionStrings:Journeys", pg.ConnectionString));
        await CarryOnAsync(sqlite, worker, journey);
    }

    [Fact]
    public async Task A_row_PostgreSQL_refuses_rolls_the_whole_copy_back()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        var folder = Directory.CreateTempSubdirectory("journeyworker-migrate-");
        try
        {
            var file = Path.Combine(folder.FullName, "journeys.db");
            await using (var db = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite($"Data Source={file}").Options))
            {
                await db.Database.MigrateAsync(Ct);
                var at = new DateTime(2026, 3, 2, 9, 0, 0, DateTimeKind.Utc);
                db.Profiles.Add(new Profile { CreatedAt = at, UpdatedAt = at });
                await db.SaveChangesAsync(Ct);
                // SQLite checks foreign keys only when a connection asks it to: a file written without can hold an orphan.
                await db.Database.ExecuteSqlRawAsync(
                    "PRAGMA foreign_keys=OFF; INSERT INTO \"PushTokens\" (\"ProfileId\", \"Token\", \"Platform\") VALUES (999, 'orphan', 'android');", Ct);
            }

            using var output = new StringWriter();
            var exitCode = await MigrateDataCommand.RunAsync(["migrate-data", "--to", pg.ConnectionString, $"--ConnectionStrings:Journeys=Data Source={file}"], output, Ct);

            Assert.True(exitCode == 1, output.ToString());
            Assert.Contains("failed while copying PushTokens", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("(999)", output.ToString(), StringComparison.Ordinal);
            await using var target = pg.Db();
            Assert.All(await MigrationScenario.RowsAsync(target), table => Assert.Empty(table.Value));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// On PostgreSQL: p5 opens the e-mail the SQLite service sent (its token names a copied outbox id), p1's purchase
    /// comes in, p2's wait for the open times out. Each next step happens once, with ids past the copied ones.
    /// </summary>
    private static async Task CarryOnAsync(EngineHarness sqlite, EngineHarness worker, Guid journey)
    {
        long maxStep, maxMessage, maxReaction;
        await using (var db = worker.App.Db())
        {
            Assert.Equal("Npgsql.EntityFrameworkCore.PostgreSQL", db.Database.ProviderName);
            (maxStep, maxMessage, maxReaction) = (await db.InstanceSteps.MaxAsync(s => s.Id, Ct), await db.OutboxMessages.MaxAsync(m => m.Id, Ct),
                await db.MessageReactions.MaxAsync(r => r.Id, Ct));
        }

        await MigrationScenario.OpenAsync(worker.App, MigrationScenario.FirstMail(sqlite, 5));
        Assert.Equal(1, (await EventAsync(worker, "purchase", 1, "\"product\": \"Socks\""))["routed"]!.GetValue<int>());
        await worker.DrainAsync(Ct);
        worker.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await worker.DrainAsync(Ct);
        await worker.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal(0, await worker.DrainAsync(Ct));

        Assert.Equal([(Email(1), "Thanks"), (Email(2), "Nudge")],
            worker.Smtp.Messages.Select(m => (m.To.Single(), m.Message.Subject ?? "")).Order());
        var instances = (await InstancesAsync(worker, journey)).ToDictionary(i => i.ProfileId);
        Assert.Equal(["e:succeeded", "thanks:entered", "thanks:succeeded"], (await TraceAsync(worker, instances[1].Id))[^3..]);
        Assert.Equal(["r:timedOut", "nudge:entered", "nudge:succeeded"], (await TraceAsync(worker, instances[2].Id))[^3..]);
        Assert.Equal(["r:succeeded", "e:entered"], (await TraceAsync(worker, instances[5].Id))[^2..]);
        Assert.Equal((InstanceStatus.Completed, InstanceStatus.Completed, InstanceStatus.Waiting, "event:purchase"),
            (instances[1].Status, instances[2].Status, instances[5].Status, instances[5].WaitingFor));

        await using var after = worker.App.Db();
        Assert.Single(await after.InstanceSteps.Where(s => s.InstanceId == instances[1].Id && s.NodeId == "thanks" && s.Outcome == "succeeded").ToListAsync(Ct));
        Assert.True(await after.InstanceSteps.Where(s => s.Id > maxStep).CountAsync(Ct) >= 8, "new steps take ids past the copied ones");
        Assert.Equal(2, await after.OutboxMessages.CountAsync(m => m.Id > maxMessage, Ct));
        Assert.Equal(1, await after.MessageReactions.CountAsync(r => r.Id > maxReaction, Ct));
    }
}
