using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>Event-start journeys, re-entrance, condition branches, the percentage split and the end node.</summary>
public sealed class EntryAndBranchTests
{
    private static string EventStart(string extra, params string[] nodes) =>
        Journey("e", extra, ["""{"id": "e", "type": "event", "event": "signup", "next": "m"}""", .. nodes]);

    [Fact]
    public async Task Event_start_admits_the_profile_and_keeps_the_payload_for_templates()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2), Ct);
        await EventConfigAsync(h, "signup");
        var (journey, _) = await PublishAsync(h, EventStart("", Mail("m", subject: "Welcome to {{events.signup.plan}}, {{profile.name}}")));

        var accepted = await EventAsync(h, "signup", 2, "\"plan\": \"Pro\"");
        Assert.Equal(1, accepted["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal((Email(2), "Welcome to Pro, P2"), (mail.To.Single(), mail.Message.Subject));
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Contains("\"plan\":\"Pro\"", instance.Context, StringComparison.Ordinal);
        Assert.Equal(["e:entered", "e:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
    }

    [Fact]
    public async Task Reentrance_refused_a_second_event_does_not_admit_again()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        await EventConfigAsync(h, "signup");
        var (journey, _) = await PublishAsync(h, EventStart("\"reentrance\": {\"allowed\": false}", Mail("m")));

        Assert.Equal(1, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());
        Assert.Equal(0, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>()); // still running
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromDays(30));
        Assert.Equal(0, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>()); // ended: never again
        await h.DrainAsync(Ct);

        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
        Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
    }

    [Fact]
    public async Task Reentrance_allowed_admits_again_only_after_the_wait_period()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        await EventConfigAsync(h, "signup");
        var (journey, _) = await PublishAsync(h, EventStart("\"reentrance\": {\"allowed\": true, \"waitPeriod\": \"P1D\"}", Mail("m")));

        Assert.Equal(1, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());
        h.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>());
        Assert.Equal(0, (await EventAsync(h, "signup", 1))["routed"]!.GetValue<int>()); // one running instance at a time
        await h.DrainAsync(Ct);

        var instances = await InstancesAsync(h, journey);
        Assert.Equal(2, instances.Count);
        Assert.All(instances, i => Assert.Equal(InstanceStatus.Completed, i.Status));
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal(2, h.Smtp.Messages.Select(m => m.Message.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task Condition_takes_the_first_true_branch_in_order_with_profile_and_event_data_else_otherwise()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(3, n => n == 2 ? "\"tier\": \"silver\"" : "\"tier\": \"gold\""), Ct);
        await EventConfigAsync(h, "signup");
        var (journey, _) = await PublishAsync(h, Journey("e", "",
            """{"id": "e", "type": "event", "event": "signup", "next": "c"}""",
            """{"id": "c", "type": "condition", "branches": [{"when": "events.signup.total > 100", "next": "big"}, {"when": "profile.tier = \"gold\"", "next": "gold"}], "otherwise": "other"}""",
            Mail("big", subject: "Big"), Mail("gold", subject: "Gold"), Mail("other", subject: "Other")));

        await EventAsync(h, "signup", 1, "\"total\": 500"); // both branches true: the first wins
        await EventAsync(h, "signup", 2, "\"total\": 5");
        await EventAsync(h, "signup", 3, "\"total\": 5");
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);

        var subjects = h.Smtp.Messages.ToDictionary(m => m.To.Single(), m => m.Message.Subject);
        Assert.Equal(("Big", "Other", "Gold"), (subjects[Email(1)], subjects[Email(2)], subjects[Email(3)]));
        var traces = new List<List<string>>();
        foreach (var i in await InstancesAsync(h, journey))
        {
            traces.Add(await TraceAsync(h, i.Id));
        }
        Assert.All(traces, t => Assert.Equal(["e:entered", "e:succeeded", "c:entered", "c:succeeded"], t[..4]));
    }

    [Fact]
    public async Task Percentage_split_is_deterministic_per_profile()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 40, "split", "",
            """{"id": "split", "type": "condition", "branches": [{"percent": 30, "next": "a"}, {"percent": 30, "next": "b"}], "otherwise": "x"}""",
            """{"id": "a", "type": "end"}""", """{"id": "b", "type": "end"}""", """{"id": "x", "type": "end"}""");
        await h.DrainAsync(Ct);

        var taken = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var instance in await InstancesAsync(h, journey))
        {
            var bucket = InstanceRunner.PercentBucket(journey, instance.ProfileId, "split");
            var expected = bucket < 30 ? "a" : bucket < 60 ? "b" : "x";
            var trace = await TraceAsync(h, instance.Id);
            Assert.Equal([$"{expected}:entered", $"{expected}:succeeded"], trace[^2..]);
            Assert.Equal((InstanceStatus.Completed, "end"), (instance.Status, instance.EndReason));
            taken[expected] = taken.GetValueOrDefault(expected) + 1;
        }
        // 40 profiles land on more than one branch (otherwise the split would not be tested at all).
        Assert.True(taken.Count >= 2, string.Join(", ", taken));
    }

    [Fact]
    public async Task End_node_completes_the_instance_and_nothing_after_it_runs()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "stop", "",
            """{"id": "stop", "type": "end", "next": "m"}""", Mail("m"));
        await h.DrainAsync(Ct);

        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Completed, "end"), (instance.Status, instance.EndReason));
        Assert.Equal(["read:entered", "read:succeeded", "stop:entered", "stop:succeeded"], await TraceAsync(h, instance.Id));
        Assert.Empty(h.Smtp.Messages);
    }
}
