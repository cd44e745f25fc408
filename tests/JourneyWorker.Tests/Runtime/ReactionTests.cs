using System.Net;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>Reaction nodes: an open before the timeout, no open (timeout path), an open after the timeout, an open before the node is reached.</summary>
public sealed class ReactionTests
{
    private static readonly string[] Nodes =
    [
        Mail("m", "r", subject: "First"),
        """{"id": "r", "type": "reaction", "action": "m", "reaction": "emailOpened", "timeout": "PT1H", "timeoutNext": "nudge", "next": "thanks"}""",
        Mail("thanks", subject: "Thanks"),
        Mail("nudge", subject: "Nudge"),
    ];

    private static async Task<(EngineHarness H, Guid Journey)> StartAsync(int profiles = 2)
    {
        var h = await EngineHarness.StartAsync(Ct);
        try
        {
            var (journey, _) = await StartReadAudienceAsync(h, profiles, "m", "", Nodes);
            await h.DrainAsync(Ct);
            await h.Smtp.WaitForMessagesAsync(profiles, cancellationToken: Ct);
            return (h, journey);
        }
        catch
        {
            // The caller only owns the harness once it is returned: a failed set-up must not leave its host running.
            await h.DisposeAsync();
            throw;
        }
    }

    private static async Task OpenAsync(EngineHarness h, int profile)
    {
        var mail = h.Smtp.Messages.First(m => m.To.Single() == Email(profile) && m.Message.Subject == "First");
        var response = await h.App.WithKey(null).GetAsync(EngineHarness.PixelPath(mail), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string[] Subjects(EngineHarness h, int profile) =>
        [.. h.Smtp.Messages.Where(m => m.To.Single() == Email(profile)).Select(m => m.Message.Subject ?? "")];

    [Fact]
    public async Task Reaction_before_the_timeout_takes_next_and_no_reaction_takes_the_timeout_path()
    {
        var (h, journey) = await StartAsync();
        await using var _ = h;
        Assert.All(await InstancesAsync(h, journey), i => Assert.Equal("reaction:emailOpened:m", i.WaitingFor));

        h.Advance(TimeSpan.FromMinutes(20));
        await OpenAsync(h, 1);
        await OpenAsync(h, 1); // a repeat changes nothing
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromHours(1));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(4, cancellationToken: Ct);

        Assert.Equal(["First", "Thanks"], Subjects(h, 1));
        Assert.Equal(["First", "Nudge"], Subjects(h, 2));
        var instances = await InstancesAsync(h, journey);
        Assert.All(instances, i => Assert.Equal(InstanceStatus.Completed, i.Status));
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded", "r:entered", "r:succeeded", "thanks:entered", "thanks:succeeded"],
            await TraceAsync(h, instances[0].Id));
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded", "r:entered", "r:timedOut", "nudge:entered", "nudge:succeeded"],
            await TraceAsync(h, instances[1].Id));
    }

    [Fact]
    public async Task Reaction_after_the_timeout_is_recorded_but_moves_nothing()
    {
        var (h, journey) = await StartAsync(1);
        await using var _ = h;
        h.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await OpenAsync(h, 1); // due, not yet run: too late all the same
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);

        Assert.Equal(["First", "Nudge"], Subjects(h, 1));
        await using var db = h.App.Db();
        Assert.Equal(1, await db.MessageReactions.CountAsync(Ct));
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Contains("r:timedOut", await TraceAsync(h, instance.Id));
        Assert.DoesNotContain("r:succeeded", await TraceAsync(h, instance.Id));
    }

    [Fact]
    public async Task Reaction_arriving_before_the_instance_reaches_the_reaction_node_is_honoured()
    {
        var (h, journey) = await StartAsync(1);
        await using var _ = h;
        // As if the worker had died after the send but before its commit: the instance still stands on the message node.
        var instance = await SingleInstanceAsync(h, journey);
        await using (var db = h.App.Db())
        {
            var now = h.App.Time.GetUtcNow().ToUnixTimeMilliseconds();
            await db.JourneyInstances.Where(i => i.Id == instance.Id).ExecuteUpdateAsync(s => s
                .SetProperty(i => i.Status, InstanceStatus.Active).SetProperty(i => i.NodeId, "m")
                .SetProperty(i => i.WaitingFor, (string?)null).SetProperty(i => i.DueAt, now), Ct);
        }

        await OpenAsync(h, 1); // nobody waits for it yet: only recorded
        Assert.Equal(1, await h.DrainAsync(Ct));

        var trace = await TraceAsync(h, instance.Id);
        Assert.Equal(["r:entered", "r:succeeded", "thanks:entered", "thanks:succeeded"], trace[^4..]);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.Equal(["First", "Thanks"], Subjects(h, 1)); // the first e-mail is not sent again
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }
}
