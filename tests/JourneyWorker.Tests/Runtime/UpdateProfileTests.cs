using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>updateProfile nodes: attributes written at dotted paths with the step, read by later nodes of the same run.</summary>
public sealed class UpdateProfileTests
{
    private static async Task<JsonObject> ProfileAsync(EngineHarness h, int n) =>
        (await h.Client.GetFromJsonAsync<JsonObject>($"/api/profiles/email/{Email(n)}", Ct))!;

    private static async Task<JsonObject> ReportAsync(EngineHarness h, Guid journey) =>
        (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{journey}/report", Ct))!;

    [Fact]
    public async Task Sets_nested_attributes_that_a_later_condition_and_email_of_the_same_run_read()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, n => $"\"vip\": {(n == 2 ? "true" : "false")}, \"loyalty\": {{\"since\": 2020}}"), Ct);
        var audience = await AudienceAsync(h);
        var (journey, _) = await PublishAsync(h, Journey("read", "", Read(audience, "up"),
            """
            {"id": "up", "type": "updateProfile", "next": "c", "set": {
              "loyalty.tier": "gold-{{profile.name}}", "loyalty.points": "{{ profile.n | times: 10 }}",
              "loyalty.vip": "{{ profile.vip }}", "lastJourney.name": "{{ journey.name }}", "missing": "{{ profile.nothing }}"}}
            """,
            """{"id": "c", "type": "condition", "branches": [{"when": "profile.loyalty.points > 15 and profile.loyalty.vip = true", "next": "big"}], "otherwise": "small"}""",
            Mail("big", subject: "Big {{profile.loyalty.tier}} {{profile.loyalty.points}}"),
            Mail("small", subject: "Small {{profile.loyalty.tier}} {{profile.loyalty.points}}")));
        h.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, await h.ReadAudienceAsync(await VersionAsync(h, journey, "live"), testOnly: false, Ct));
        await h.DrainAsync(Ct);

        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        var subjects = h.Smtp.Messages.ToDictionary(m => m.To.Single(), m => m.Message.Subject);
        Assert.Equal(("Small gold-P1 10", "Big gold-P2 20"), (subjects[Email(1)], subjects[Email(2)]));

        var profile = await ProfileAsync(h, 2);
        var attributes = profile["attributes"]!.AsObject();
        var loyalty = attributes["loyalty"]!.AsObject();
        // A single {{ expression }} keeps its type; anything else is text. What was there stays.
        Assert.Equal(JsonValueKind.Number, loyalty["points"]!.GetValueKind());
        Assert.Equal(20, loyalty["points"]!.GetValue<decimal>());
        Assert.Equal(JsonValueKind.True, loyalty["vip"]!.GetValueKind());
        Assert.Equal("gold-P2", loyalty["tier"]!.GetValue<string>());
        Assert.Equal(2020, loyalty["since"]!.GetValue<int>());
        Assert.Equal("J", attributes["lastJourney"]!["name"]!.GetValue<string>());
        Assert.True(attributes.ContainsKey("missing") && attributes["missing"] is null);
        Assert.Equal(("P2", 2), (attributes["name"]!.GetValue<string>(), attributes["n"]!.GetValue<int>()));
        Assert.Equal(h.App.Time.GetUtcNow().UtcDateTime, DateTime.SpecifyKind(profile["updatedAt"]!.GetValue<DateTime>(), DateTimeKind.Utc));

        var instance = (await InstancesAsync(h, journey)).Single(i => i.ProfileId == profile["id"]!.GetValue<long>());
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal(["read:entered", "read:succeeded", "up:entered", "up:succeeded", "c:entered", "c:succeeded", "big:entered", "big:succeeded"],
            steps.Select(s => $"{s.Node}:{s.Outcome}"));
        Assert.Contains("loyalty.points", steps.Single(s => s.Node == "up" && s.Outcome == StepOutcome.Succeeded).Detail, StringComparison.Ordinal);
        var report = await ReportAsync(h, journey);
        Assert.Equal((2, 2, 0), (report["nodes"]!["up"]!["entered"]!.GetValue<int>(), report["nodes"]!["up"]!["succeeded"]!.GetValue<int>(),
            report["nodes"]!["up"]!["failed"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_path_through_a_value_that_is_not_an_object_fails_the_node_writes_nothing_and_the_instance_goes_on()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, n => n == 1 ? "\"loyalty\": \"none\"" : ""), Ct);
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey("read", "", Read(audience, "up"),
            """{"id": "up", "type": "updateProfile", "next": "m", "set": {"seen": "yes", "loyalty.tier": "gold"}}""",
            Mail("m", subject: "Tier {{profile.loyalty.tier}} seen {{profile.seen}}.")));
        var before = (await ProfileAsync(h, 1))["updatedAt"]!.GetValue<DateTime>();
        h.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        await h.DrainAsync(Ct);

        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        var subjects = h.Smtp.Messages.ToDictionary(m => m.To.Single(), m => m.Message.Subject);
        Assert.Equal(("Tier  seen .", "Tier gold seen yes."), (subjects[Email(1)], subjects[Email(2)]));

        var unchanged = await ProfileAsync(h, 1);
        Assert.Equal("none", unchanged["attributes"]!["loyalty"]!.GetValue<string>());
        Assert.False(unchanged["attributes"]!.AsObject().ContainsKey("seen"));
        Assert.Equal(before, unchanged["updatedAt"]!.GetValue<DateTime>());

        var failed = (await InstancesAsync(h, journey)).Single(i => i.ProfileId == unchanged["id"]!.GetValue<long>());
        Assert.Equal(InstanceStatus.Completed, failed.Status);
        var step = (await StepsAsync(h.App, failed.Id)).Single(s => s.Node == "up" && s.Outcome == StepOutcome.Failed);
        Assert.Contains("loyalty.tier", step.Detail, StringComparison.Ordinal);
        var report = await ReportAsync(h, journey);
        Assert.Equal((2, 1, 1), (report["nodes"]!["up"]!["entered"]!.GetValue<int>(), report["nodes"]!["up"]!["succeeded"]!.GetValue<int>(),
            report["nodes"]!["up"]!["failed"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Updates_of_one_profile_by_two_journeys_in_one_batch_both_stay()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        var audience = await AudienceAsync(h);
        var (_, first) = await PublishAsync(h, Journey("read", "", Read(audience, "up"),
            """{"id": "up", "type": "updateProfile", "set": {"a.first": "1"}}"""));
        var (_, second) = await PublishAsync(h, Journey("read", "", Read(audience, "up"),
            """{"id": "up", "type": "updateProfile", "set": {"a.second": "2", "a.firstSeen": "{{ profile.a.first }}"}}"""));
        await h.ReadAudienceAsync(first, testOnly: false, Ct);
        await h.ReadAudienceAsync(second, testOnly: false, Ct);
        Assert.Equal(2, await h.DrainAsync(Ct));

        var a = (await ProfileAsync(h, 1))["attributes"]!["a"]!.AsObject();
        Assert.Equal(("1", "2", "1"), (a["first"]!.GetValue<string>(), a["second"]!.GetValue<string>(), a["firstSeen"]!.GetValue<string>()));
    }
}
