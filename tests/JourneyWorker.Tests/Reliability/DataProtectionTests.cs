using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Reliability;

public sealed class DataProtectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Deleting_a_profile_removes_its_personal_data_everywhere()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journeyId, _) = await SeedJourneyTests.SetUpAsync(h);
        await h.PostJsonAsync($"/api/journeys/{journeyId}/publish", "{}", Ct);
        Guid versionId;
        await using (var db = h.App.Db())
        {
            versionId = db.JourneyVersions.Single(v => v.JourneyId == journeyId && v.Status == "live").Id;
        }
        await h.ReadAudienceAsync(versionId, testOnly: false, Ct);
        await h.DrainAsync(Ct);
        var mails = await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        var ann = mails.Single(m => m.To.Single() == "ann@example.com");
        Assert.Equal(HttpStatusCode.OK, (await h.App.WithKey(null).GetAsync(EngineHarness.PixelPath(ann), Ct)).StatusCode);
        await h.DrainAsync(Ct);
        await h.PostJsonAsync("/api/events", """{"purchaseMessage": "see you", "customerEmail": "ann@example.com"}""", Ct, 202);
        await h.PostJsonAsync("/api/events", """{"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "Shoes"}""", Ct, 202);
        await h.DrainAsync(Ct);
        Assert.Single(h.Fcm.Messages);

        long profileId;
        await using (var db = h.App.Db())
        {
            profileId = db.ProfileIdentities.Single(i => i.Value == "ann@example.com").ProfileId;
            var before = await CountAsync(db, profileId);
            Assert.All(before, c => Assert.True(c.Value > 0, $"{c.Key} has no row for Ann before the delete, so the test proves nothing"));
        }

        var deleted = await h.Client.DeleteAsync("/api/profiles/email/ann@example.com", Ct);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        await using (var db = h.App.Db())
        {
            var after = await CountAsync(db, profileId);
            Assert.All(after, c => Assert.True(c.Value == 0, $"{c.Key} still has {c.Value} row(s) of Ann"));
            Assert.Equal(5, db.Profiles.Count()); // the other five stay
            var leftovers = await RowsMentioningAsync(db, "ann@example.com");
            Assert.True(leftovers.Count == 0, "Ann's address is still stored in: " + string.Join(", ", leftovers));
        }
    }

    [Fact]
    public async Task Online_backup_while_the_host_runs_restores_into_a_new_host()
    {
        TestProvider.SqliteOnly("the backup command copies the database file with SQLite's backup API");
        var folder = Directory.CreateTempSubdirectory("journeyworker-backup-").FullName;
        try
        {
            var backup = Path.Combine(folder, "backup.db");
            await using (var app = new JourneyWorkerApp().With("Runtime:Enabled", "false"))
            {
                var client = app.Admin();
                for (var i = 0; i < 20; i++)
                {
                    var response = await client.PostAsync("/api/audiences", new StringContent($$"""{"name": "A{{i}}", "rule": "a = {{i}}"}""", Encoding.UTF8, "application/json"), Ct);
                    Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                }

                // Writes keep coming while the backup runs; the backup holds whatever was committed when it started.
                var writer = Task.Run(async () =>
                {
                    for (var i = 0; i < 20; i++)
                    {
                        await client.PutAsync($"/api/profiles/email/p{i}@example.com", new StringContent("""{"attributes": {"a": 1}}""", Encoding.UTF8, "application/json"), Ct);
                    }
                }, Ct);
                var output = new StringWriter();
                var code = await BackupCommand.RunAsync(["backup", backup, $"--ConnectionStrings:Journeys=Data Source={Path.Combine(app.DataDirectory, "journeys.db")}"], output);
                Assert.True(code == 0, output.ToString());
                await writer;
            }

            // Restore: the service is stopped; the backup file becomes the database of a new host.
            await using var restored = new JourneyWorkerApp().With("Runtime:Enabled", "false");
            File.Copy(backup, Path.Combine(restored.DataDirectory, "journeys.db"));
            var audiences = JsonNode.Parse(await restored.Admin().GetStringAsync("/api/audiences", Ct))!;
            var names = (audiences is JsonArray a ? a : audiences["items"]!.AsArray()).Select(n => n!["name"]!.GetValue<string>()).ToHashSet();
            Assert.Equal(20, names.Count(n => n.StartsWith('A')));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Backup_without_a_database_fails_and_writes_nothing()
    {
        TestProvider.SqliteOnly("the backup command copies the database file with SQLite's backup API");
        var folder = Directory.CreateTempSubdirectory("journeyworker-backup-").FullName;
        var output = new StringWriter();
        var code = await BackupCommand.RunAsync(["backup", Path.Combine(folder, "b.db"), $"--ConnectionStrings:Journeys=Data Source={Path.Combine(folder, "none.db")}"], output);
        Assert.Equal(1, code);
        Assert.Empty(Directory.GetFiles(folder));
        Directory.Delete(folder, recursive: true);
    }

    private static async Task<Dictionary<string, int>> CountAsync(JourneyWorker.Data.JourneyDbContext db, long profileId)
    {
        var instances = db.JourneyInstances.Where(i => i.ProfileId == profileId).Select(i => i.Id);
        var messages = db.OutboxMessages.Where(m => instances.Contains(m.InstanceId)).Select(m => m.Id);
        return new Dictionary<string, int>
        {
            ["Profiles"] = await db.Profiles.CountAsync(p => p.Id == profileId, Ct),
            ["ProfileIdentities"] = await db.ProfileIdentities.CountAsync(i => i.ProfileId == profileId, Ct),
            ["PushTokens"] = await db.PushTokens.CountAsync(t => t.ProfileId == profileId, Ct),
            ["JourneyInstances"] = await instances.CountAsync(Ct),
            ["InstanceSteps"] = await db.InstanceSteps.CountAsync(s => instances.Contains(s.InstanceId), Ct),
            ["OutboxMessages"] = await messages.CountAsync(Ct),
            ["TrackedLinks"] = await db.TrackedLinks.CountAsync(l => messages.Contains(l.OutboxMessageId), Ct),
            ["MessageReactions"] = await db.MessageReactions.CountAsync(r => messages.Contains(r.OutboxMessageId), Ct),
            ["StoredEvents"] = await db.StoredEvents.CountAsync(e => e.ProfileId == profileId, Ct),
        };
    }

    /// <summary>Every table and text column that still holds <paramref name="needle"/>, whatever the foreign keys say.</summary>
    private static async Task<List<string>> RowsMentioningAsync(JourneyWorker.Data.JourneyDbContext db, string needle)
    {
        var found = new List<string>();
        await db.Database.OpenConnectionAsync(Ct);
        var connection = db.Database.GetDbConnection();
        foreach (var entity in db.Model.GetEntityTypes())
        {
            var table = entity.GetTableName()!;
            foreach (var column in entity.GetProperties().Where(p => p.ClrType == typeof(string)).Select(p => p.GetColumnName()))
            {
                await using var command = connection.CreateCommand();
                // The same substring search in each dialect (::text: a column PostgreSQL keeps as jsonb).
                command.CommandText = db.Database.IsNpgsql()
                    ? $"SELECT COUNT(*) FROM \"{table}\" WHERE strpos(\"{column}\"::text, @needle) > 0"
                    : $"SELECT COUNT(*) FROM \"{table}\" WHERE instr(\"{column}\", @needle) > 0";
                command.AddParameter("@needle", needle);
                if ((long)(await command.ExecuteScalarAsync(Ct))! > 0)
                {
                    found.Add($"{table}.{column}");
                }
            }
        }
        return found;
    }
}
