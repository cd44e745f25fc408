using System.Reflection;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>The instance store: the only place that touches instance tables, with state names bound as parameters.</summary>
public sealed class InstanceStoreTests
{
    private static readonly string[] InstanceTables = ["JourneyInstances", "InstanceSteps", "OutboxMessages", "MessageReactions", "TrackedLinks"];

    /// <summary>Every state name of the instance tables and journey versions.</summary>
    private static IEnumerable<string> StateNames() =>
        new[] { typeof(InstanceStatus), typeof(StepOutcome), typeof(OutboxStatus), typeof(JourneyStatus) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

    /// <summary>Every statement text of the store on both providers, the built ones with a sample fragment.</summary>
    private static IEnumerable<(string Name, string Sql)> Statements()
    {
        foreach (InstanceSql sql in new InstanceSql[] { new SqliteInstanceSql(), new PostgreSqlInstanceSql() })
        {
            var provider = sql.GetType().Name;
            foreach (var property in sql.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.PropertyType == typeof(string)))
            {
                if (property.GetValue(sql) is string text)
                {
                    yield return ($"{provider}.{property.Name}", text);
                }
            }
            yield return ($"{provider}.Members", sql.Members("@p0 = 1"));
            yield return ($"{provider}.CountMembers", sql.CountMembers("@p0 = 1"));
            yield return ($"{provider}.Admit", sql.Admit("\"Profiles\"", "1 = 1", "Id"));
            yield return ($"{provider}.CapCounts", sql.CapCounts(3));
        }
    }

    [Fact]
    public void No_statement_spells_a_state_name()
    {
        var statements = Statements().ToList();
        Assert.True(statements.Count > 50, $"only {statements.Count} statements found");
        foreach (var (name, sql) in statements)
        {
            foreach (var state in StateNames())
            {
                Assert.False(sql.Contains($"'{state}'", StringComparison.Ordinal), $"{name} spells '{state}' instead of binding it");
            }
        }
    }

    [Fact]
    public void Only_the_store_touches_instance_tables()
    {
        var root = RepositoryRoot();
        var source = Path.Combine(root, "src", "JourneyWorker");
        var store = Path.Combine(source, "Runtime", "Store") + Path.DirectorySeparatorChar;
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories))
        {
            if (file.StartsWith(store, StringComparison.Ordinal) || file.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || Path.GetFileName(file) == "JourneyDbContext.cs")
            {
                continue;
            }
            var text = File.ReadAllText(file);
            foreach (var table in InstanceTables)
            {
                // Raw SQL quotes the table name ("T", \"T\" or ""T""; an endpoint name ("T") is no SQL); EF reaches it through the context's set.
                if (System.Text.RegularExpressions.Regex.IsMatch(text, "\"" + table + @"\\?""(?!\))|\." + table + @"\b"))
                {
                    offenders.Add($"{Path.GetRelativePath(root, file)}: {table}");
                }
            }
        }
        Assert.Empty(offenders);
    }

    [Fact]
    public async Task The_claim_seeks_the_status_and_due_index_with_bound_states()
    {
        TestProvider.SqliteOnly("reads SQLite's EXPLAIN QUERY PLAN of the SQLite claim statement");
        await using var h = await EngineHarness.StartAsync(Ct);
        await using var db = h.App.Db();
        await db.Database.OpenConnectionAsync(Ct);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + new SqliteInstanceSql().Claim;
        command.AddParameter("@active", InstanceStatus.Active);
        command.AddParameter("@waiting", InstanceStatus.Waiting);
        command.AddParameter("@owner", "w");
        command.AddParameter("@until", 2L);
        command.AddParameter("@now", 1L);
        command.AddParameter("@limit", 10);
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                plan.Add(reader.GetString(3));
            }
        }
        // One seek per state, each read in due order and stopped at the limit: a single seek with both states in an IN
        // list gathers and sorts every due row for each claim, however large the backlog.
        Assert.Equal(2, plan.Count(line => line.Contains("USING INDEX IX_JourneyInstances_Status_DueAt (Status=? AND DueAt<?)", StringComparison.Ordinal)));
        Assert.DoesNotContain(plan, line => line.StartsWith("SCAN JourneyInstances", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_claim_takes_the_earliest_due_unleased_instances_of_both_states_up_to_its_limit()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 6, "w", "", """{"id": "w", "type": "wait", "duration": "P1D", "next": "m"}""", Mail("m"));
        var ids = (await InstancesAsync(h, journey)).Select(i => i.Id).ToArray();
        // (state, due, lease until): due at 5 (active), 10 (waiting), 20 (waiting, leased by another worker), 30 (active),
        // 40 (waiting), 1,000 (waiting, not due at 100).
        (string Status, long Due, long? Lease)[] rows =
            [(InstanceStatus.Active, 30, null), (InstanceStatus.Waiting, 10, null), (InstanceStatus.Waiting, 20, 500),
             (InstanceStatus.Active, 5, null), (InstanceStatus.Waiting, 40, null), (InstanceStatus.Waiting, 1_000, null)];
        await using (var db = h.App.Db())
        {
            for (var k = 0; k < rows.Length; k++)
            {
                var (status, due, lease) = rows[k];
                await db.JourneyInstances.Where(i => i.Id == ids[k]).ExecuteUpdateAsync(u => u
                    .SetProperty(i => i.Status, status).SetProperty(i => i.DueAt, due)
                    .SetProperty(i => i.LeaseOwner, lease == null ? null : "other").SetProperty(i => i.LeaseUntil, lease), Ct);
            }
        }
        var store = h.App.Services.GetRequiredService<InstanceStore>();

        Assert.Equal(new[] { ids[3], ids[1] }.Order(), (await store.ClaimAsync("me", 2, 100, 1_000, Ct)).Order());
        Assert.Equal(new[] { ids[0], ids[4] }.Order(), (await store.ClaimAsync("me", 10, 100, 1_000, Ct)).Order());
        Assert.Empty(await store.ClaimAsync("me", 10, 100, 1_000, Ct));
        // Once the other worker's lease has run out, its instance is taken over; this worker's own leases still hold.
        Assert.Equal(new[] { ids[2] }, await store.ClaimAsync("me", 10, 600, 1_000, Ct));
    }

    [Fact]
    public async Task A_failed_unit_of_work_leaves_no_instance_behind()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(3), Ct);
        var (journey, version) = await PublishAsync(h, Journey("read", "", Read(await AudienceAsync(h), "m"), Mail("m")));
        var store = h.App.Services.GetRequiredService<InstanceStore>();
        await using var db = h.App.Db();
        var compiled = (await h.App.Services.GetRequiredService<JourneyCatalog>().GetAsync(db, version, Ct))!;
        var ids = await db.Profiles.Select(p => p.Id).ToListAsync(Ct);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteAsync<int>(async tx =>
        {
            Assert.Equal(3, (await tx.AdmitAsync(compiled, ids, false, h.App.Time.GetUtcNow(), null, Ct)).Count);
            throw new InvalidOperationException("the caller's own write failed");
        }, Ct));

        Assert.Equal("the caller's own write failed", failure.Message);
        Assert.Empty(await InstancesAsync(h, journey));
        // The gate was released: the next unit of work goes through.
        Assert.Equal(3, (await store.WriteAsync(tx => tx.AdmitAsync(compiled, ids, false, h.App.Time.GetUtcNow(), null, Ct), Ct)).Count);
    }

    [Fact]
    public async Task A_closed_version_is_finished_when_its_last_instance_goes_with_a_forgotten_profile()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "w", "", """{"id": "w", "type": "wait", "duration": "P1D", "next": "m"}""", Mail("m"));
        await h.DrainAsync(Ct);
        Assert.Equal(InstanceStatus.Waiting, (await SingleInstanceAsync(h, journey)).Status);

        var closed = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{journey}/close", "{}", Ct))!;
        Assert.Equal(JourneyStatus.Closed, closed["status"]!.GetValue<string>());

        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await h.Client.DeleteAsync($"/api/profiles/email/{Email(1)}", Ct)).StatusCode);
        Assert.Empty(await InstancesAsync(h, journey));
        var after = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journey}", Ct))!;
        Assert.Equal(JourneyStatus.Finished, after["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_read_of_a_closed_journey_writes_nothing()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, version) = await StartReadAudienceAsync(h, 1, "w", "", """{"id": "w", "type": "wait", "duration": "P1D", "next": "m"}""", Mail("m"));
        await h.DrainAsync(Ct);
        await h.PostJsonAsync($"/api/journeys/{journey}/close", "{}", Ct);
        // Behind the engine's back, the instance is ended: only the runtime finishes versions, never a read.
        await using (var db = h.App.Db())
        {
            await db.JourneyInstances.ExecuteUpdateAsync(s => s.SetProperty(i => i.Status, InstanceStatus.Completed), Ct);
        }
        var stamp = await UpdatedAtAsync(h, version);

        var read = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journey}", Ct))!;

        Assert.Equal(JourneyStatus.Closed, read["status"]!.GetValue<string>());
        Assert.Equal(stamp, await UpdatedAtAsync(h, version));
    }

    private static async Task<DateTime> UpdatedAtAsync(EngineHarness h, Guid version)
    {
        await using var db = h.App.Db();
        return await db.JourneyVersions.Where(v => v.Id == version).Select(v => v.UpdatedAt).SingleAsync(Ct);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "JourneyWorker.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (JourneyWorker.sln) was not found above the test binaries.");
    }
}
