using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.CapScenario;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Frequency rules across journeys on the real host: what counts (sent marketing messages in the window, and those
/// being sent), what is capped (marketing only), where a capped instance goes (cappedNext, else next), on the fake clock.
/// </summary>
public sealed class FrequencyCapTests
{
    [Fact]
    public async Task A_second_marketing_email_within_the_window_is_skipped_naming_the_rule_and_takes_cappedNext()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await PutRulesAsync(h, OneMailAWeek);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        var audience = await AudienceAsync(h);

        await ReadJourneyAsync(h, audience, "a", Message("a", "First"));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);

        h.Advance(TimeSpan.FromDays(6));
        var second = await ReadJourneyAsync(h, audience, "b", Message("b", "Second", next: "after", cappedNext: "capped"),
            """{"id": "capped", "type": "end"}""", Message("after", "After"));
        await h.DrainAsync(Ct);

        var instance = await SingleInstanceAsync(h, second);
        Assert.Equal((InstanceStatus.Completed, "end"), (instance.Status, instance.EndReason));
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal(["read:entered", "read:succeeded", "b:entered", "b:skipped", "capped:entered", "capped:succeeded"], steps.Select(s => s.Node + ":" + s.Outcome));
        Assert.Equal("frequency cap email 1 per P7D", steps.Single(s => s.Outcome == StepOutcome.Skipped).Detail);
        Assert.Equal("First", Assert.Single(h.Smtp.Messages).Message.Subject);
        await using (var db = h.App.Db())
        {
            var skipped = await db.OutboxMessages.SingleAsync(m => m.NodeId == "b", Ct);
            Assert.Equal((OutboxStatus.Skipped, "frequency cap email 1 per P7D", 0, null), (skipped.Status, skipped.Error, skipped.Attempts, skipped.SentAt));
            Assert.Equal(instance.ProfileId, skipped.ProfileId);
        }

        // The window slides: seven days after the first e-mail, the next one goes out.
        h.Advance(TimeSpan.FromDays(1));
        await ReadJourneyAsync(h, audience, "c", Message("c", "Third", cappedNext: "capped"), """{"id": "capped", "type": "end"}""");
        await h.DrainAsync(Ct);
        Assert.Equal(["First", "Third"], (await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct)).Select(m => m.Message.Subject).Order());
    }

    [Fact]
    public async Task Without_cappedNext_a_capped_send_goes_on_along_next_and_each_rule_counts_its_own_channel()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await PutRulesAsync(h, """{"rules": [{"channel": "push", "max": 1, "per": "P1D"}, {"channel": "email", "max": 1, "per": "P1D"}]}""");
        await h.ImportAsync(Data.MigrationScenario.Profiles(1), Ct); // with a push token
        var audience = await AudienceAsync(h);

        // e-mail (sent), e-mail (capped by the e-mail rule), push (the e-mails do not count for it: sent), push (capped).
        var journey = await ReadJourneyAsync(h, audience, "m1",
            Message("m1", "One", next: "m2"), Message("m2", "Two", next: "p1"),
            Message("p1", "Three", next: "p2", type: "push"), Message("p2", "Four", next: "end", type: "push"), """{"id": "end", "type": "end"}""");
        await h.DrainAsync(Ct);

        var instance = await SingleInstanceAsync(h, journey);
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal(["m1:entered", "m1:succeeded", "m2:entered", "m2:skipped", "p1:entered", "p1:succeeded", "p2:entered", "p2:skipped", "end:entered", "end:succeeded"],
            steps.Skip(2).Select(s => s.Node + ":" + s.Outcome));
        Assert.Equal(["frequency cap email 1 per P1D", "frequency cap push 1 per P1D"], steps.Where(s => s.Outcome == StepOutcome.Skipped).Select(s => s.Detail));
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal("One", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
        Assert.Equal("Three", Assert.Single(h.Fcm.Messages).Message["notification"]!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task Transactional_messages_are_neither_capped_nor_counted()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await PutRulesAsync(h, OneMailAWeek);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        var audience = await AudienceAsync(h);

        await ReadJourneyAsync(h, audience, "t", Message("t", "Receipt", category: "transactional"));
        await h.DrainAsync(Ct);
        await ReadJourneyAsync(h, audience, "m", Message("m", "Offer"));
        await h.DrainAsync(Ct);
        await ReadJourneyAsync(h, audience, "t", Message("t", "Password reset", category: "transactional"));
        await h.DrainAsync(Ct);
        var capped = await ReadJourneyAsync(h, audience, "m", Message("m", "Another offer"));
        await h.DrainAsync(Ct);

        Assert.Equal(["Another offer"], await SkippedSubjectsAsync(h));
        Assert.Equal(["Offer", "Password reset", "Receipt"], (await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct)).Select(m => m.Message.Subject).Order());
        Assert.Equal("m:skipped", (await TraceAsync(h, (await SingleInstanceAsync(h, capped)).Id))[^1]);
        await using var db = h.App.Db();
        Assert.Equal(2, await db.OutboxMessages.CountAsync(m => m.Category == MessageCategory.Transactional && m.Status == OutboxStatus.Sent, Ct));
    }

    [Fact]
    public async Task Two_sends_to_one_profile_in_one_batch_count_each_other()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await PutRulesAsync(h, """{"rules": [{"channel": "any", "max": 2, "per": "P30D"}]}""");
        await h.ImportAsync(ProfilesNdjson(3), Ct);
        var audience = await AudienceAsync(h);
        for (var j = 0; j < 3; j++)
        {
            await ReadJourneyAsync(h, audience, "m", Message("m", $"J{j}"));
        }

        // One drain, one batch, one checkpoint: nine e-mails for three profiles, two each go out.
        Assert.Equal(9, await h.DrainAsync(Ct));
        var mails = await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct);
        Assert.Equal(6, mails.Count);
        Assert.All(mails.GroupBy(m => m.To.Single()), g => Assert.Equal(2, g.Count()));
        await using var db = h.App.Db();
        Assert.Equal(3, await db.OutboxMessages.CountAsync(m => m.Status == OutboxStatus.Skipped && m.Error == "frequency cap any 2 per P30D", Ct));
    }

    [Fact]
    public async Task A_round_of_sends_capped_whole_does_not_hold_back_the_rounds_after_it()
    {
        // Rounds of four (Parallelism 1): profiles 1-4 had their e-mail of the week, 5-8 not yet.
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.With("Runtime:Parallelism", "1"));
        await PutRulesAsync(h, OneMailAWeek);
        await h.ImportAsync(ProfilesNdjson(8), Ct);
        await ReadJourneyAsync(h, await AudienceAsync(h, "n <= 4"), "m", Message("m", "Earlier"));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(4, cancellationToken: Ct);

        var journey = await ReadJourneyAsync(h, await AudienceAsync(h), "m", Message("m", "Now"));
        Assert.Equal(8, await h.DrainAsync(Ct));

        var now = (await h.Smtp.WaitForMessagesAsync(8, cancellationToken: Ct)).Where(m => m.Message.Subject == "Now").Select(m => m.To.Single()).Order();
        Assert.Equal([Email(5), Email(6), Email(7), Email(8)], now);
        Assert.All(await InstancesAsync(h, journey), i => Assert.Equal(InstanceStatus.Completed, i.Status));
    }

    [Fact]
    public async Task The_cap_count_seeks_the_profile_and_creation_time_index()
    {
        TestProvider.SqliteOnly("reads SQLite's EXPLAIN QUERY PLAN of the SQLite statement");
        await using var h = await EngineHarness.StartAsync(Ct);
        await using var db = h.App.Db();
        await db.Database.OpenConnectionAsync(Ct);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + new JourneyWorker.Runtime.Store.SqliteInstanceSql().CapCounts(2);
        foreach (var (name, value) in new (string, object)[] { ("@ids", "[1,2]"), ("@sent", OutboxStatus.Sent), ("@pending", OutboxStatus.Pending),
            ("@marketing", MessageCategory.Marketing), ("@since", DateTime.UtcNow), ("@since0", DateTime.UtcNow), ("@since1", DateTime.UtcNow) })
        {
            command.AddParameter(name, value);
        }
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                plan.Add(reader.GetString(3));
            }
        }
        Assert.Contains(plan, line => line.Contains("USING INDEX IX_OutboxMessages_ProfileId_CreatedAt (ProfileId=? AND CreatedAt>?)", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.StartsWith("SCAN OutboxMessages", StringComparison.Ordinal));
    }

    private static async Task<List<string>> SkippedSubjectsAsync(EngineHarness h)
    {
        await using var db = h.App.Db();
        var skipped = await db.OutboxMessages.Where(m => m.Status == OutboxStatus.Skipped).ToListAsync(Ct);
        var versions = await db.JourneyInstances.Where(i => skipped.Select(m => m.InstanceId).Contains(i.Id)).Select(i => i.JourneyVersionId).ToListAsync(Ct);
        var definitions = await db.JourneyVersions.Where(v => versions.Contains(v.Id)).Select(v => v.Definition).ToListAsync(Ct);
        return [.. definitions.Select(d => CompiledJourney.Parse(d).Nodes!.Single(n => n.Type == "email").Subject!)];
    }
}

/// <summary>Building blocks of the frequency-cap tests: message nodes with a category and a capped path, rules, journeys read at once.</summary>
public static class CapScenario
{
    public const string OneMailAWeek = """{"rules": [{"channel": "email", "max": 1, "per": "P7D"}]}""";

    public static string Message(string id, string subject, string? next = null, string? category = null, string? cappedNext = null, string type = "email") =>
        new JsonObject
        {
            ["id"] = id, ["type"] = type,
            ["subject"] = type == "email" ? subject : null, ["html"] = type == "email" ? "<p>Hello</p>" : null,
            ["title"] = type == "push" ? subject : null, ["body"] = type == "push" ? "Hello" : null,
            ["next"] = next, ["category"] = category, ["cappedNext"] = cappedNext,
        }.ToJsonString(new System.Text.Json.JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });

    public static async Task PutRulesAsync(EngineHarness h, string rules)
    {
        var response = await h.Client.PutAsync("/api/rules/frequency", new StringContent(rules, System.Text.Encoding.UTF8, "application/json"), Ct);
        await response.OkAsync<JsonObject>();
    }

    /// <summary>Publishes a Read Audience journey over every profile and reads it once; returns the journey.</summary>
    public static async Task<Guid> ReadJourneyAsync(EngineHarness h, string audience, string next, params string[] nodes)
    {
        var (journey, version) = await PublishAsync(h, Journey("read", "", [Read(audience, next), .. nodes]));
        await h.ReadAudienceAsync(version, testOnly: false, Ct);
        return journey;
    }
}
