using System.Text.Json.Nodes;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Admission writes instance rows only; the start node's entered and succeeded steps are presented from
/// them, and history and reports show them as when they were stored.
/// </summary>
public sealed class EntryStepTests
{
    [Fact]
    public async Task Read_Audience_entry_shows_in_history_and_report_as_the_start_node_steps()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 3, "m", "", Mail("m"));
        await h.DrainAsync(Ct);

        var instance = (await InstancesAsync(h, journey))[0];
        var history = await GetAsync(h, $"/api/instances/{instance.Id}");
        var steps = history["steps"]!.AsArray();
        Assert.Equal(["0 read entered Read Audience", "1 read succeeded Read Audience", "2 m entered ", "3 m succeeded "],
            steps.Select(s => $"{s!["seq"]} {s["node"]} {s["outcome"]} {s["detail"]}"));
        Assert.All(steps.Take(2), s => Assert.Equal(history["enteredAt"]!.GetValue<DateTime>(), s!["at"]!.GetValue<DateTime>()));
        var listed = await GetAsync(h, $"/api/journeys/{journey}/instances?profile=email:{Email(1)}");
        Assert.Equal(steps.ToJsonString(), Assert.Single(listed.AsArray())!["steps"]!.ToJsonString());

        var report = await GetAsync(h, $"/api/journeys/{journey}/report");
        Assert.Equal((3, 3, 0), Counts(report, "read"));
        Assert.Equal((3, 3, 0), Counts(report, "m"));

        await using var db = h.App.Db();
        Assert.False(await db.InstanceSteps.AnyAsync(s => s.NodeId == "read", Ct)); // presented, not stored
    }

    [Fact]
    public async Task Event_entry_shows_the_event_in_the_entry_steps()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        await EventConfigAsync(h, "signup");
        var (journey, _) = await PublishAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "signup", "next": "m"}""", Mail("m")));
        Assert.Equal(1, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());

        var instance = await SingleInstanceAsync(h, journey);
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal(
            [new StepResponse(0, "e", StepOutcome.Entered, instance.EnteredAt, "'signup' event"), new StepResponse(1, "e", StepOutcome.Succeeded, instance.EnteredAt, "'signup' event")],
            steps);
        Assert.Equal((1, 1, 0), Counts(await GetAsync(h, $"/api/journeys/{journey}/report"), "e"));
    }

    [Fact]
    public async Task Members_are_admitted_page_by_page_skipping_those_already_in()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(7), Ct);
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey("read", "", Read(audience, "m"), Mail("m")));
        await using var db = h.App.Db();
        var ids = await db.Profiles.OrderBy(p => p.Id).Select(p => p.Id).ToListAsync(Ct);
        var compiled = (await h.App.Services.GetRequiredService<JourneyCatalog>().GetAsync(db, version, Ct))!;
        var now = h.App.Time.GetUtcNow();
        var store = h.App.Services.GetRequiredService<InstanceStore>();
        Assert.Equal(2, (await store.WriteAsync(tx => tx.AdmitAsync(compiled, [ids[1], ids[2]], false, now, null, Ct), Ct)).Count);

        var pages = new List<(int, long?)>();
        long? after = 0;
        while (after is { } from)
        {
            var page = await store.WriteAsync(tx => tx.AdmitMembersAsync(compiled, AudienceQuery.Where("n > 0", now, db.Dialect()), from, long.MaxValue, 2, false, now, Ct), Ct);
            pages.Add(page);
            after = page.Last;
        }

        Assert.Equal([(1, ids[1]), (1, ids[3]), (2, ids[5]), (1, null)], pages);
        Assert.Equal(ids, (await InstancesAsync(h, journey)).Select(i => i.ProfileId));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_read_over_several_lanes_admits_every_member_once(int lanes)
    {
        // On PostgreSQL the read runs its chunks in lanes over ranges of profile ids; one lane (SQLite always) reads in
        // windows of eight chunks' worth of ids (32 here, so 61 profiles take two windows): ranges and windows must meet
        // without a gap or an overlap, and a second read must admit nobody.
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("Runtime:AudienceChunkSize", "4")
            .With("Runtime:AudienceReadConnections", lanes.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await h.ImportAsync(ProfilesNdjson(61), Ct);
        var audience = await AudienceAsync(h, "n <= 5 or n = 20 or n >= 40");
        var (journey, version) = await PublishAsync(h, Journey("read", "", Read(audience, "m"), Mail("m")));

        Assert.Equal(28, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        Assert.Equal(0, await h.ReadAudienceAsync(version, testOnly: false, Ct));

        await using var db = h.App.Db();
        var expected = await db.Profiles.OrderBy(p => p.Id).Select(p => p.Id).ToListAsync(Ct);
        var members = Enumerable.Range(1, 61).Where(n => n <= 5 || n == 20 || n >= 40).Select(n => expected[n - 1]);
        Assert.Equal(members, (await InstancesAsync(h, journey)).Select(i => i.ProfileId).Order());
    }

    [Fact]
    public async Task A_member_admitted_meanwhile_by_another_transaction_is_skipped_not_failed()
    {
        // Another transaction (an event's admission, say) admits a member of the page and has not committed when the page
        // is read: the page's insert waits for it and must then skip that member (on PostgreSQL the insert without ON
        // CONFLICT meets a unique violation there, and the page is admitted again under ON CONFLICT), admitting the rest.
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(5), Ct);
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey("read", "", Read(audience, "m"), Mail("m")));
        await using var db = h.App.Db();
        var ids = await db.Profiles.OrderBy(p => p.Id).Select(p => p.Id).ToListAsync(Ct);
        var compiled = (await h.App.Services.GetRequiredService<JourneyCatalog>().GetAsync(db, version, Ct))!;
        var now = h.App.Time.GetUtcNow();
        var store = h.App.Services.GetRequiredService<InstanceStore>();

        var admitted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var holder = AdmitAndHoldAsync(h, compiled, ids[2], now, admitted, release.Task);
        await Task.WhenAny(admitted.Task, holder);
        await (holder.IsCompleted ? holder : admitted.Task);

        var page = store.WriteAsync(tx => tx.AdmitMembersAsync(compiled, AudienceQuery.Where("n > 0", now, db.Dialect()), 0, long.MaxValue, 10, false, now, Ct), Ct);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!page.IsCompleted && !await QueuedAsync(h) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, Ct);
        }
        Assert.False(page.IsCompleted, "the page did not wait for the uncommitted admission");
        release.SetResult();

        Assert.Single(await holder);
        Assert.Equal((4, (long?)null), await page);
        Assert.Equal(ids, (await InstancesAsync(h, journey)).Select(i => i.ProfileId));
    }

    /// <summary>
    /// Admits <paramref name="profile"/> and holds the transaction open until <paramref name="release"/>. On PostgreSQL as
    /// another worker process would, outside this process's write gate; on SQLite, with one writer, through the gate.
    /// </summary>
    private static async Task<List<long>> AdmitAndHoldAsync(
        EngineHarness h, CompiledJourney journey, long profile, DateTimeOffset now, TaskCompletionSource admitted, Task release)
    {
        async Task<List<long>> AdmitAsync(StoreTransaction tx)
        {
            var created = await tx.AdmitAsync(journey, [profile], false, now, null, Ct);
            admitted.SetResult();
            await release.WaitAsync(Ct);
            return created;
        }

        if (!TestProvider.IsPostgreSql)
        {
            return await h.App.Services.GetRequiredService<InstanceStore>().WriteAsync(AdmitAsync, Ct);
        }
        await using var db = h.App.Db();
        await using var transaction = await db.Database.BeginTransactionAsync(Ct);
        var services = h.App.Services;
        var created = await AdmitAsync(new StoreTransaction(db, transaction.GetDbTransaction(), services.GetRequiredService<JourneyCatalog>(), services.GetRequiredService<InstanceSql>()));
        await transaction.CommitAsync(Ct);
        return created;
    }

    /// <summary>Whether a transaction waits for another: on PostgreSQL a lock not granted, on SQLite the write gate's queue.</summary>
    private static async Task<bool> QueuedAsync(EngineHarness h)
    {
        if (!TestProvider.IsPostgreSql)
        {
            return h.App.Services.GetRequiredService<WriteGate>().Waiting > 0;
        }
        await using var db = h.App.Db();
        return await db.Database.SqlQueryRaw<long>("""SELECT count(*) AS "Value" FROM pg_locks WHERE NOT granted""").SingleAsync(Ct) > 0;
    }

    private static (int Entered, int Succeeded, int Failed) Counts(JsonNode report, string node) =>
        (report["nodes"]![node]!["entered"]!.GetValue<int>(), report["nodes"]![node]!["succeeded"]!.GetValue<int>(), report["nodes"]![node]!["failed"]!.GetValue<int>());

    private static async Task<JsonNode> GetAsync(EngineHarness h, string url) =>
        JsonNode.Parse(await (await h.Client.GetAsync(url, Ct)).EnsureSuccessStatusCode().Content.ReadAsStringAsync(Ct))!;
}
