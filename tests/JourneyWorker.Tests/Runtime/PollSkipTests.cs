using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>The scheduled poll skips the database while nothing can be due, and still finds what comes due.</summary>
public sealed class PollSkipTests
{
    private static readonly string WaitThenEvent =
        """{"id": "w", "type": "wait", "duration": "PT1H", "next": "e"}""";

    [Fact]
    public async Task A_poll_trusts_the_next_due_time_until_it_comes_a_write_happens_or_the_recheck_is_due()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var poller = h.App.Services.GetRequiredService<InstancePoller>();
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "w", "", WaitThenEvent,
            """{"id": "e", "type": "event", "event": "purchase", "timeout": "P1D", "next": "m"}""", Mail("m"));

        Assert.Equal(1, await poller.PollAsync(Ct)); // the Read Audience write: look
        Assert.Equal("w", (await SingleInstanceAsync(h, journey)).NodeId);
        Assert.Equal(0, await poller.PollAsync(Ct));

        // Made due behind the engine's back (as another process could): this process has no reason to look yet.
        var instance = await SingleInstanceAsync(h, journey);
        await using (var db = h.App.Db())
        {
            var now = h.App.Time.GetUtcNow().ToUnixTimeMilliseconds();
            await db.JourneyInstances.Where(i => i.Id == instance.Id).ExecuteUpdateAsync(s => s.SetProperty(i => i.DueAt, now), Ct);
        }
        Assert.Equal(0, await poller.PollAsync(Ct));
        h.Advance(TimeSpan.FromSeconds(5)); // the recheck
        Assert.Equal(1, await poller.PollAsync(Ct));
        Assert.Equal("e", (await SingleInstanceAsync(h, journey)).NodeId);

        // A write in this process (the event resumes the instance) makes the very next poll look.
        Assert.Equal(0, await poller.PollAsync(Ct));
        await EventAsync(h, "purchase", 1);
        Assert.Equal(1, await poller.PollAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }

    [Fact]
    public async Task A_poll_runs_a_timer_once_its_due_time_comes_without_any_write()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var poller = h.App.Services.GetRequiredService<InstancePoller>();
        var (journey, _) = await StartReadAudienceAsync(h, 1, "w", "", """{"id": "w", "type": "wait", "duration": "PT1H", "next": "m"}""", Mail("m"));
        Assert.Equal(1, await poller.PollAsync(Ct));

        h.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await poller.PollAsync(Ct));
        h.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await poller.PollAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }
}
