using System.Net.Http.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>jump nodes: the profile enters another journey that starts with journeyEntry, under its re-entrance rules; the source goes on.</summary>
public sealed class JumpTests
{
    private static readonly string Welcome = Mail("mb", subject: "Welcome {{profile.name}} to {{journey.name}}");

    private static string Target(string name) =>
        $$"""{"name": "{{name}}", "start": "entry", "nodes": [{"id": "entry", "type": "journeyEntry", "next": "mb"}, {{Welcome}}]}""";

    private static string Jump(string id, Guid journey, string next) =>
        $$"""{"id": "{{id}}", "type": "jump", "journey": "{{journey}}", "next": "{{next}}"}""";

    private static async Task<InstanceStep> StepAsync(EngineHarness h, long instance, string node, string outcome)
    {
        var step = (await StepsAsync(h.App, instance)).Single(s => s.Node == node && s.Outcome != StepOutcome.Entered);
        Assert.True(step.Outcome == outcome, $"{node}: {step.Outcome} ({step.Detail})");
        return new InstanceStep { NodeId = step.Node, Outcome = step.Outcome, Detail = step.Detail };
    }

    private static async Task<int> CountAsync(EngineHarness h, Guid journey, string node, string outcome) =>
        (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{journey}/report", Ct))!["nodes"]![node]![outcome]!.GetValue<int>();

    [Fact]
    public async Task Jump_admits_into_a_live_journey_a_second_jump_is_refused_by_reentrance_and_the_source_goes_on_each_time()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        var audience = await AudienceAsync(h);
        var (target, _) = await PublishAsync(h, Target("Welcome"));
        var (source, version) = await PublishAsync(h, Journey("read", "",
            Read(audience, "j1"), Jump("j1", target, "j2"), Jump("j2", target, "after"), Mail("after", subject: "After")));

        Assert.Equal(1, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        await h.DrainAsync(Ct);

        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal(["After", "Welcome P1 to Welcome"], h.Smtp.Messages.Select(m => m.Message.Subject).Order());
        var entered = await SingleInstanceAsync(h, target);
        Assert.Equal((InstanceStatus.Completed, false), (entered.Status, entered.IsTest));
        Assert.Equal(["entry:entered", "entry:succeeded", "mb:entered", "mb:succeeded"], await TraceAsync(h, entered.Id));

        var from = await SingleInstanceAsync(h, source);
        Assert.Equal(InstanceStatus.Completed, from.Status);
        Assert.Contains($"instance {entered.Id}", (await StepAsync(h, from.Id, "j1", StepOutcome.Succeeded)).Detail, StringComparison.Ordinal);
        // The same transaction already holds the first admission: the profile is in the target, so the second jump is refused.
        Assert.Contains("in it already", (await StepAsync(h, from.Id, "j2", StepOutcome.Skipped)).Detail, StringComparison.Ordinal);
        Assert.Equal((1, 1), (await CountAsync(h, source, "j1", "succeeded"), await CountAsync(h, source, "j2", "skipped")));
        Assert.Equal((1, 1), (await CountAsync(h, target, "entry", "entered"), await CountAsync(h, target, "mb", "succeeded")));

        // The target has ended for the profile and allows no re-entrance: a jump from another journey is refused too.
        var (other, again) = await PublishAsync(h, Journey("read", "", Read(audience, "j"), Jump("j", target, "after"), Mail("after", subject: "After again")));
        Assert.Equal(1, await h.ReadAudienceAsync(again, testOnly: false, Ct));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        Assert.Contains(h.Smtp.Messages, m => m.Message.Subject == "After again");
        Assert.Single(await InstancesAsync(h, target));
        var refused = await StepAsync(h, (await SingleInstanceAsync(h, other)).Id, "j", StepOutcome.Skipped);
        Assert.Contains("does not allow re-entrance", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_entered_instance_holds_the_events_of_the_jumping_one_and_the_profile_as_updated_before_the_jump()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        await EventConfigAsync(h, "signup");
        var mail = Mail("mb", subject: "{{profile.stage}} {{events.signup.plan}}");
        var (target, _) = await PublishAsync(h, $$"""{"name": "Onboarding", "start": "entry", "nodes": [{"id": "entry", "type": "journeyEntry", "next": "mb"}, {{mail}}]}""");
        await PublishAsync(h, Journey("e", "",
            """{"id": "e", "type": "event", "event": "signup", "next": "up"}""",
            """{"id": "up", "type": "updateProfile", "set": {"stage": "onboarding"}, "next": "j"}""",
            Jump("j", target, "done"), """{"id": "done", "type": "end"}"""));

        Assert.Equal(1, (await EventAsync(h, "signup", 1, "\"plan\": \"Pro\""))["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);

        var received = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("onboarding Pro", received.Message.Subject);
        var entered = await SingleInstanceAsync(h, target);
        Assert.Equal("Jump from another journey", (await StepsAsync(h.App, entered.Id))[0].Detail);
    }

    [Fact]
    public async Task A_test_instance_enters_the_target_in_test_mode_as_a_test_instance()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, test: n => n == 1), Ct);
        var audience = await AudienceAsync(h);
        var target = await CreateAsync(h, Target("Welcome"));
        await h.PostJsonAsync($"/api/journeys/{target}/test", """{"enabled": true}""", Ct);
        var source = await CreateAsync(h, Journey("read", "", Read(audience, "j"), Jump("j", target, "after"), Mail("after", subject: "After")));
        var validation = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{source}/validate", "{}", Ct))!;
        Assert.Equal("jump.targetNotLive", validation["warnings"]!.AsArray().Single()!["code"]!.GetValue<string>());
        await h.PostJsonAsync($"/api/journeys/{source}/test", """{"enabled": true}""", Ct);

        Assert.Equal(1, await h.ReadAudienceAsync(await VersionAsync(h, source, JourneyStatus.Draft), testOnly: true, Ct));
        await h.DrainAsync(Ct);

        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.All(h.Smtp.Messages, m => Assert.Equal(Email(1), m.To.Single()));
        var entered = await SingleInstanceAsync(h, target);
        Assert.Equal((true, await VersionAsync(h, target, JourneyStatus.Draft), InstanceStatus.Completed),
            (entered.IsTest, entered.JourneyVersionId, entered.Status));
        var from = await SingleInstanceAsync(h, source);
        Assert.Contains("a test instance", (await StepAsync(h, from.Id, "j", StepOutcome.Succeeded)).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_target_changed_since_publishing_fails_the_jump_and_the_source_goes_on()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2), Ct);
        var (target, _) = await PublishAsync(h, Target("Welcome"));
        var (first, firstVersion) = await PublishAsync(h, Journey("read", "",
            Read(await AudienceAsync(h, "n = 1"), "j"), Jump("j", target, "after"), Mail("after", subject: "After")));
        var (second, secondVersion) = await PublishAsync(h, Journey("read", "",
            Read(await AudienceAsync(h, "n = 2"), "j"), Jump("j", target, "after"), Mail("after", subject: "After")));

        // Version 2 of the target starts with Read Audience: nothing can jump into it any more.
        await h.PostJsonAsync($"/api/journeys/{target}/versions", "{}", Ct, 201);
        var readStart = Journey("read", "", Read(await AudienceAsync(h, "n = 3"), "mb"), Welcome);
        Assert.True((await h.Client.PutAsync($"/api/journeys/{target}", new StringContent(readStart, System.Text.Encoding.UTF8, "application/json"), Ct)).IsSuccessStatusCode);
        await h.PostJsonAsync($"/api/journeys/{target}/publish", "{}", Ct);
        Assert.Equal(1, await h.ReadAudienceAsync(firstVersion, testOnly: false, Ct));
        await h.DrainAsync(Ct);
        var changed = await StepAsync(h, (await SingleInstanceAsync(h, first)).Id, "j", StepOutcome.Failed);
        Assert.Contains("no longer starts with a journeyEntry", changed.Detail, StringComparison.Ordinal);

        // Stopped: not live.
        await h.PostJsonAsync($"/api/journeys/{target}/stop", "{}", Ct);
        Assert.Equal(1, await h.ReadAudienceAsync(secondVersion, testOnly: false, Ct));
        await h.DrainAsync(Ct);
        var stopped = await StepAsync(h, (await SingleInstanceAsync(h, second)).Id, "j", StepOutcome.Failed);
        Assert.Contains("is not live", stopped.Detail, StringComparison.Ordinal);

        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal(["After", "After"], h.Smtp.Messages.Select(m => m.Message.Subject));
        Assert.Empty(await InstancesAsync(h, target));
        Assert.All([await SingleInstanceAsync(h, first), await SingleInstanceAsync(h, second)], i => Assert.Equal(InstanceStatus.Completed, i.Status));
        Assert.Equal(1, await CountAsync(h, first, "j", "failed"));
    }
}
