using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>Journey-level exit criteria and goals (CONTRACT "Journeys 2"): events that end instances at once, conversions in the report.</summary>
public sealed class ExitAndGoalTests
{
    private static readonly string[] MailWaitMail =
    [
        Mail("first", "w"),
        """{"id": "w", "type": "wait", "duration": "P1D", "next": "second"}""",
        Mail("second", subject: "Second"),
    ];

    [Fact]
    public async Task An_exit_event_ends_the_profiles_running_instance_wherever_it_waits_and_names_the_criterion()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 2, "first", """ "exit": [{"event": "purchase"}] """.Trim(), MailWaitMail);
        Assert.Equal(2, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);

        var accepted = await EventAsync(h, "purchase", 1);
        Assert.Equal(1, accepted["routed"]!.GetValue<int>());
        var (exited, running) = (await InstancesAsync(h, journey)) switch { var l => (l[0], l[1]) };
        Assert.Equal((InstanceStatus.Exited, "exit:purchase"), (exited.Status, exited.EndReason));
        Assert.Equal(InstanceStatus.Waiting, running.Status);
        Assert.EndsWith("w:exited", (await TraceAsync(h, exited.Id))[^1], StringComparison.Ordinal);

        // Its wait elapsing later moves nothing: only the other profile gets the second e-mail.
        h.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        Assert.Equal([Email(2)], h.Smtp.Messages.Where(m => m.Message.Subject == "Second").SelectMany(m => m.To).ToList());

        var report = await ReportAsync(h, journey);
        Assert.Equal(1, report["instances"]!["exited"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_exit_condition_on_the_payload_decides_and_a_second_event_changes_nothing()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "first", """ "exit": [{"event": "purchase", "when": "amount > 100"}] """.Trim(), MailWaitMail);
        Assert.Equal(1, await h.DrainAsync(Ct));

        Assert.Equal(0, (await EventAsync(h, "purchase", 1, "\"amount\": 50"))["routed"]!.GetValue<int>());
        Assert.Equal(InstanceStatus.Waiting, (await SingleInstanceAsync(h, journey)).Status);
        Assert.Equal(1, (await EventAsync(h, "purchase", 1, "\"amount\": 150"))["routed"]!.GetValue<int>());
        Assert.Equal(InstanceStatus.Exited, (await SingleInstanceAsync(h, journey)).Status);
        Assert.Equal(0, (await EventAsync(h, "purchase", 1, "\"amount\": 150"))["routed"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_goal_counts_one_conversion_per_instance_within_its_time_attributed_to_the_last_message()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 3, "first",
            """ "goal": {"event": "purchase", "within": "P7D", "exit": false} """.Trim(), MailWaitMail);
        Assert.Equal(3, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);

        // Profile 1 buys after the first e-mail, twice: one conversion, and it goes on (exit: false; nothing moved, nothing routed).
        Assert.Equal(0, (await EventAsync(h, "purchase", 1))["routed"]!.GetValue<int>());
        await EventAsync(h, "purchase", 1);
        Assert.Equal(1, (await ReportAsync(h, journey))["conversions"]!.GetValue<int>());

        // Profile 2 buys after the second e-mail: attributed to it.
        h.Advance(TimeSpan.FromDays(1));
        Assert.Equal(3, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct);
        await EventAsync(h, "purchase", 2);

        // Profile 3 buys after the goal's seven days: not a conversion.
        h.Advance(TimeSpan.FromDays(7));
        await EventAsync(h, "purchase", 3);

        var report = await ReportAsync(h, journey);
        Assert.Equal(2, report["conversions"]!.GetValue<int>());
        Assert.Equal(1, report["nodes"]!["first"]!["conversions"]!.GetValue<int>());
        Assert.Equal(1, report["nodes"]!["second"]!["conversions"]!.GetValue<int>());
        Assert.Equal(3, report["instances"]!["completed"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_goal_with_exit_ends_the_converted_instance()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "first",
            """ "goal": {"event": "purchase", "within": "P7D", "exit": true} """.Trim(), MailWaitMail);
        Assert.Equal(1, await h.DrainAsync(Ct));

        Assert.Equal(1, (await EventAsync(h, "purchase", 1))["routed"]!.GetValue<int>());
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Exited, "goal:purchase"), (instance.Status, instance.EndReason));
        Assert.Equal(1, (await ReportAsync(h, journey))["conversions"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_report_lists_every_node_with_zeros_and_the_instances_waiting_at_each()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 2, "first", "", MailWaitMail);
        Assert.Equal(2, await h.DrainAsync(Ct));

        var nodes = (await ReportAsync(h, journey))["nodes"]!;
        Assert.Equal(["read", "first", "w", "second"], nodes.AsObject().Select(n => n.Key).ToList());
        Assert.Equal(2, nodes["w"]!["waitingNow"]!.GetValue<int>());
        Assert.Equal(2, nodes["first"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(0, nodes["second"]!["entered"]!.GetValue<int>());
        Assert.Equal(0, nodes["second"]!["skipped"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(""" "exit": [{"event": "nope"}] """, "exit.eventUnknown")]
    [InlineData(""" "exit": [{"when": "a > 1"}] """, "exit.eventMissing")]
    [InlineData(""" "exit": [{"event": "purchase", "when": "a >"}] """, "exit.whenInvalid")]
    [InlineData(""" "goal": {"event": "purchase"} """, "goal.withinMissing")]
    [InlineData(""" "goal": {"event": "purchase", "within": "PT0S"} """, "goal.withinInvalid")]
    [InlineData(""" "goal": {"event": "nope", "within": "P1D"} """, "goal.eventUnknown")]
    public async Task Bad_criteria_are_validation_errors_with_their_codes(string criteria, string code)
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var audience = await AudienceAsync(h);
        var id = await CreateAsync(h, Journey("read", criteria.Trim(), [Read(audience, "first"), Mail("first")]));
        var result = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/validate", "{}", Ct))!;
        Assert.False(result["valid"]!.GetValue<bool>());
        Assert.Contains(code, result["errors"]!.AsArray().Select(e => e!["code"]!.GetValue<string>()));
    }

    private static async Task<JsonNode> ReportAsync(EngineHarness h, Guid journey) =>
        JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journey}/report", Ct))!;
}
