using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>Wait nodes, event waits (in time, late, with and without a timeout path) and the journey's global timeout, on the fake clock.</summary>
public sealed class WaitAndEventTests
{
    private const string EventWait = """{"id": "e", "type": "event", "event": "purchase", "timeout": "PT1H", "timeoutNext": "late", "next": "thanks"}""";

    [Fact]
    public async Task Wait_with_a_duration_moves_on_only_once_it_has_elapsed()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "w", "",
            """{"id": "w", "type": "wait", "duration": "PT1H", "next": "m"}""", Mail("m"));

        await h.DrainAsync(Ct);
        var waiting = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Waiting, "w", "wait"), (waiting.Status, waiting.NodeId, waiting.WaitingFor));

        h.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await h.DrainAsync(Ct));
        Assert.Empty(h.Smtp.Messages);

        h.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        var done = await SingleInstanceAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, done.Status);
        Assert.Equal(["read:entered", "read:succeeded", "w:entered", "w:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, done.Id));
    }

    [Fact]
    public async Task Wait_until_a_moment_moves_on_at_that_moment()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var until = h.App.Time.GetUtcNow().AddHours(5);
        var (journey, _) = await StartReadAudienceAsync(h, 1, "w", "",
            $$"""{"id": "w", "type": "wait", "until": "{{until:O}}", "next": "m"}""", Mail("m"));

        await h.DrainAsync(Ct);
        Assert.Equal(until.ToUnixTimeMilliseconds(), (await SingleInstanceAsync(h, journey)).DueAt);
        h.Advance(TimeSpan.FromHours(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await h.DrainAsync(Ct));
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }

    [Fact]
    public async Task Event_arriving_before_the_timeout_takes_next_and_its_payload_reaches_templates()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "e", "", EventWait,
            Mail("thanks", subject: "Enjoy your {{events.purchase.product}}"), Mail("late", subject: "Late"));
        await h.DrainAsync(Ct);
        Assert.Equal("event:purchase", (await SingleInstanceAsync(h, journey)).WaitingFor);

        h.Advance(TimeSpan.FromMinutes(30));
        var accepted = await EventAsync(h, "purchase", 1, "\"product\": \"Shoes\"");
        Assert.Equal(1, accepted["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("Enjoy your Shoes", mail.Message.Subject);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["read:entered", "read:succeeded", "e:entered", "e:succeeded", "thanks:entered", "thanks:succeeded"], await TraceAsync(h, instance.Id));

        // Past the (no longer relevant) timeout nothing else happens.
        h.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await h.DrainAsync(Ct));
        Assert.Single(h.Smtp.Messages);
    }

    [Fact]
    public async Task Event_arriving_after_the_timeout_is_stored_but_moves_nothing_and_timeoutNext_is_taken()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "e", "", EventWait, Mail("thanks"), Mail("late", subject: "Late"));
        await h.DrainAsync(Ct);

        // Due but not yet run by a poller: the event is already too late.
        h.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var early = await EventAsync(h, "purchase", 1);
        Assert.Equal(0, early["routed"]!.GetValue<int>());
        await using (var db = h.App.Db())
        {
            var stored = await db.StoredEvents.SingleAsync(e => e.Id == Guid.Parse(early["id"]!.GetValue<string>()), Ct);
            Assert.Equal(0, stored.Routed);
            Assert.Contains("purchase", stored.Matched, StringComparison.Ordinal);
        }

        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("Late", mail.Message.Subject);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(["read:entered", "read:succeeded", "e:entered", "e:timedOut", "late:entered", "late:succeeded"], await TraceAsync(h, instance.Id));

        Assert.Equal(0, (await EventAsync(h, "purchase", 1))["routed"]!.GetValue<int>());
        Assert.Equal(0, await h.DrainAsync(Ct));
        Assert.Single(h.Smtp.Messages);
    }

    [Fact]
    public async Task Event_wait_without_a_timeout_path_continues_on_next_after_the_timeout()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "e", "",
            """{"id": "e", "type": "event", "event": "purchase", "timeout": "PT10M", "next": "m"}""", Mail("m"));
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromMinutes(11));
        await h.DrainAsync(Ct);

        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, instance.Status);
        Assert.Equal(["read:entered", "read:succeeded", "e:entered", "e:timedOut", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
    }

    [Fact]
    public async Task Journey_timeout_ends_what_still_runs_as_exited()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        // An event wait without its own timeout waits until the journey's global timeout at most.
        var (journey, _) = await StartReadAudienceAsync(h, 2, "e", "\"timeout\": \"PT2H\"",
            """{"id": "e", "type": "event", "event": "purchase", "next": "m"}""", Mail("m"));
        await h.DrainAsync(Ct);
        var deadline = h.App.Time.GetUtcNow().AddHours(2).ToUnixTimeMilliseconds();
        Assert.All(await InstancesAsync(h, journey), i => Assert.Equal(deadline, i.DueAt));

        // Profile 1 moves on and completes; profile 2 is still waiting when the deadline passes.
        Assert.Equal(1, (await EventAsync(h, "purchase", 1))["routed"]!.GetValue<int>());
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.DrainAsync(Ct));

        var instances = await InstancesAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, instances[0].Status);
        Assert.Equal((InstanceStatus.Exited, "journeyTimeout"), (instances[1].Status, instances[1].EndReason));
        Assert.Equal("e:exited", (await TraceAsync(h, instances[1].Id))[^1]);
        Assert.Single(h.Smtp.Messages);
        Assert.Equal(0, (await EventAsync(h, "purchase", 2))["routed"]!.GetValue<int>());
    }
}
