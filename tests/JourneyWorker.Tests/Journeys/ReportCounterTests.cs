using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static JourneyWorker.Tests.Runtime.CapScenario;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>
/// The report is served from counters kept with the writes (CONTRACT "Journeys 2", Report v2): at every point of a journey
/// that goes through every outcome it must equal the report recomputed from the step history, the instances and the
/// conversions — and so must the counters the migration fills in from that history.
/// </summary>
public sealed class ReportCounterTests
{
    private static readonly string[] Nodes =
    [
        // No errorNext: a failed send fails the instance.
        Message("m1", "First", next: "e"),
        """{"id": "e", "type": "event", "event": "reply", "timeout": "PT1H", "timeoutNext": "m2", "next": "done"}""",
        // Within a week of m1: capped, recorded as skipped.
        Message("m2", "Second", next: "w2"),
        """{"id": "w2", "type": "wait", "duration": "P1D", "next": "done"}""",
        """{"id": "done", "type": "end"}""",
        """{"id": "never", "type": "end"}""",
    ];

    [Fact]
    public async Task The_counter_report_equals_the_report_from_the_history_through_every_outcome()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await PutRulesAsync(h, OneMailAWeek);
        foreach (var name in new[] { "reply", "optout", "purchase" })
        {
            await EventConfigAsync(h, name);
        }
        await h.ImportAsync(ProfilesNdjson(7), Ct);
        var audience = await AudienceAsync(h);
        var extra = """ "exit": [{"event": "optout"}], "goal": {"event": "purchase", "within": "P7D", "exit": false} """.Trim();
        var (journey, version) = await PublishAsync(h, Journey("read", extra, [Read(audience, "m1"), .. Nodes]));
        Assert.Equal(7, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        await AssertSameAsync(h, journey);

        // Entered, succeeded, and one failed send (the first message the sink sees is refused).
        h.Smtp.ReplyNext(550, "no such mailbox");
        Assert.Equal(7, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct);
        var report = await AssertSameAsync(h, journey);
        Assert.Equal((1, 6), (Count(report, "m1", "failed"), Count(report, "e", "waitingNow")));
        Assert.Equal(1, report["instances"]!["failed"]!.GetValue<int>());

        var waiting = (await InstancesAsync(h, journey)).Where(i => i.Status == InstanceStatus.Waiting).Select(i => (int)i.ProfileId).ToList();
        // A resume by the awaited event, an exit by a criterion, a conversion by the goal, a profile deleted while it waits.
        Assert.Equal(1, (await EventAsync(h, "reply", waiting[0]))["routed"]!.GetValue<int>());
        Assert.Equal(1, (await EventAsync(h, "optout", waiting[1]))["routed"]!.GetValue<int>());
        await EventAsync(h, "purchase", waiting[2]);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await h.Client.DeleteAsync($"/api/profiles/email/{Email(waiting[3])}", Ct)).StatusCode);
        await h.DrainAsync(Ct);
        report = await AssertSameAsync(h, journey);
        Assert.Equal((1, 1, 3), (report["conversions"]!.GetValue<int>(), Count(report, "m1", "conversions"), Count(report, "e", "waitingNow")));
        Assert.Equal((1, 1), (report["instances"]!["exited"]!.GetValue<int>(), report["instances"]!["completed"]!.GetValue<int>()));

        // The rest time out, are capped at m2 and wait at w2; then the journey is stopped.
        h.Advance(TimeSpan.FromHours(2));
        Assert.Equal(3, await h.DrainAsync(Ct));
        report = await AssertSameAsync(h, journey);
        Assert.Equal((3, 3, 3), (Count(report, "e", "timedOut"), Count(report, "m2", "skipped"), Count(report, "w2", "waitingNow")));
        await h.PostJsonAsync($"/api/journeys/{journey}/stop", "{}", Ct);
        report = await AssertSameAsync(h, journey);
        Assert.Equal((0, 4, 6), (Count(report, "w2", "waitingNow"), report["instances"]!["exited"]!.GetValue<int>(), Count(report, "read", "entered")));
        Assert.Equal(0, Count(report, "never", "entered"));

        // A database that had no counters gets them from its history when it migrates.
        await using (var db = h.App.Db())
        {
            await db.NodeCounters.ExecuteDeleteAsync(Ct);
            Assert.Equal(0, Count(await ReportAsync(h, journey), "read", "entered"));
            await db.Database.ExecuteSqlRawAsync(InstanceSql.BackfillCounters, Ct);
        }
        Assert.True(JsonNode.DeepEquals(report, await AssertSameAsync(h, journey)));
    }

    [Fact]
    public async Task Test_instances_count_until_they_are_deleted_with_the_test()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(3, test: n => n <= 2), Ct);
        var audience = await AudienceAsync(h);
        var id = await CreateAsync(h, Journey("read", "", [Read(audience, "w"), """{"id": "w", "type": "wait", "duration": "P1D"}"""]));
        await h.PostJsonAsync($"/api/journeys/{id}/test", """{"enabled": true, "waitOverride": "PT5S"}""", Ct);
        Assert.Equal(2, await h.ReadAudienceAsync(await VersionAsync(h, id, JourneyStatus.Draft), testOnly: true, Ct));
        await h.DrainAsync(Ct);
        Assert.Equal(2, Count(await AssertSameAsync(h, id), "w", "waitingNow"));

        await h.PostJsonAsync($"/api/journeys/{id}/test", """{"enabled": false}""", Ct);
        var report = await AssertSameAsync(h, id);
        Assert.Equal((0, 0), (Count(report, "w", "waitingNow"), Count(report, "read", "entered")));
    }

    internal static int Count(JsonNode report, string node, string field) => report["nodes"]![node]![field]!.GetValue<int>();

    internal static async Task<JsonNode> ReportAsync(EngineHarness h, Guid journey) =>
        JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journey}/report", Ct))!;

    /// <summary>The served report, after checking that it is the report from the history, nodes in the same order.</summary>
    internal static async Task<JsonNode> AssertSameAsync(EngineHarness h, Guid journey)
    {
        var served = await ReportAsync(h, journey);
        await using var scope = h.App.Services.CreateAsyncScope();
        var history = await scope.ServiceProvider.GetRequiredService<JourneyReports>().ReportFromHistoryAsync(journey, Ct);
        var options = scope.ServiceProvider.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var expected = JsonSerializer.SerializeToNode(history, options)!;
        Assert.True(JsonNode.DeepEquals(expected, served), $"from the history:\n{expected.ToJsonString()}\nserved:\n{served.ToJsonString()}");
        Assert.Equal(expected["nodes"]!.AsObject().Select(n => n.Key), served["nodes"]!.AsObject().Select(n => n.Key));
        return served;
    }
}
