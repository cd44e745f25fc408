using JourneyWorker.Data;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Reliability;

/// <summary>
/// Faults survived: the wall clock stepping forward an hour and back (an NTP correction, a VM resumed, an operator).
/// Due times are absolute UTC instants in the database, so a step forward fires what became due once, a step back
/// re-arms nothing, and what was not yet due fires once when the clock reaches it. Both providers.
/// </summary>
public sealed class ClockStepTests
{
    private const int Profiles = 3;

    [Fact]
    public async Task Stepping_the_clock_forward_an_hour_and_back_fires_every_due_timer_exactly_once()
    {
        SteppingClock? clock = null;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.WithServices(services =>
        {
            clock = new SteppingClock(app.Time);
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(clock);
        }));
        await h.ImportAsync(ProfilesNdjson(Profiles), Ct);
        var audience = await AudienceAsync(h);
        var (shortWait, shortVersion) = await PublishAsync(h, Journey("read", "", Read(audience, "w"),
            """{"id": "w", "type": "wait", "duration": "PT30M", "next": "m"}""", Mail("m", subject: "After 30 minutes")));
        var (longWait, longVersion) = await PublishAsync(h, Journey("read", "", Read(audience, "w"),
            """{"id": "w", "type": "wait", "duration": "PT2H", "next": "m"}""", Mail("m", subject: "After 2 hours")));
        var poller = h.App.Services.GetRequiredService<InstancePoller>();
        Assert.Equal(Profiles, await h.ReadAudienceAsync(shortVersion, testOnly: false, Ct));
        Assert.Equal(Profiles, await h.ReadAudienceAsync(longVersion, testOnly: false, Ct));
        Assert.Equal(2 * Profiles, await poller.DrainAsync(Ct)); // both reach their wait
        var start = clock!.GetUtcNow();

        // +1 h at once: the 30-minute timers are overdue and fire, once; the 2-hour ones are not due.
        clock.Step(TimeSpan.FromHours(1));
        Assert.Equal(Profiles, await poller.PollAsync(Ct));
        Assert.Equal(0, await poller.PollAsync(Ct));
        Assert.Equal(0, await poller.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(Profiles, cancellationToken: Ct);

        // Back an hour: the wall clock shows the start again; nothing fires again, not even when it passes 30 minutes anew.
        clock.Step(TimeSpan.FromHours(-1));
        Assert.Equal(start, clock.GetUtcNow());
        Assert.Equal(0, await poller.DrainAsync(Ct));
        h.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(0, await poller.PollAsync(Ct));
        Assert.Equal(0, await poller.DrainAsync(Ct));
        Assert.Equal(Profiles, h.Smtp.Messages.Count);

        // The 2-hour timers fire when the clock reaches their instant, whatever it did in between: once.
        h.Advance(TimeSpan.FromHours(2) - TimeSpan.FromMinutes(31) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await poller.DrainAsync(Ct));
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Profiles, await poller.PollAsync(Ct));
        h.Advance(TimeSpan.FromHours(3));
        Assert.Equal(0, await poller.DrainAsync(Ct));

        var mails = await h.Smtp.WaitForMessagesAsync(2 * Profiles, cancellationToken: Ct);
        Assert.Equal(2 * Profiles, mails.Count);
        foreach (var n in Enumerable.Range(1, Profiles))
        {
            Assert.Equal(["After 2 hours", "After 30 minutes"], mails.Where(m => m.To.Single() == Email(n)).Select(m => m.Message.Subject).Order(StringComparer.Ordinal));
        }
        foreach (var journey in new[] { shortWait, longWait })
        {
            foreach (var instance in await InstancesAsync(h, journey))
            {
                Assert.Equal(InstanceStatus.Completed, instance.Status);
                Assert.Equal(["read:entered", "read:succeeded", "w:entered", "w:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
            }
        }
        await using var db = h.App.Db();
        Assert.Equal(2 * Profiles, await db.OutboxMessages.CountAsync(m => m.Status == OutboxStatus.Sent, Ct));
    }

    [Fact]
    public async Task After_a_step_back_the_poller_still_rechecks_for_work_another_process_made_due()
    {
        SteppingClock? clock = null;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.WithServices(services =>
        {
            clock = new SteppingClock(app.Time);
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(clock);
        }));
        var (journey, _) = await StartReadAudienceAsync(h, 1, "w", "", """{"id": "w", "type": "wait", "duration": "PT2H", "next": "m"}""", Mail("m"));
        var poller = h.App.Services.GetRequiredService<InstancePoller>();
        Assert.Equal(1, await poller.DrainAsync(Ct));
        clock!.Step(TimeSpan.FromHours(1));
        Assert.Equal(0, await poller.PollAsync(Ct)); // looks (its last look is an hour old): nothing due before +2 h
        clock.Step(TimeSpan.FromHours(-1));

        // Another process (a second worker, an operator's tool) makes the wait due now, in the database only.
        await using (var db = h.App.Db())
        {
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            Assert.Equal(1, await db.JourneyInstances.Where(i => i.JourneyId == journey).ExecuteUpdateAsync(s => s.SetProperty(i => i.DueAt, now), Ct));
        }
        // Within the recheck (5 s) the poller looks again, although its last look was "an hour ahead".
        h.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, await poller.PollAsync(Ct));
        Assert.Equal("Hi P1", Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.Subject);
    }

    /// <summary>
    /// The wall clock as the engine reads it: the fake clock plus a step that can be negative (FakeTimeProvider only
    /// goes forward). Timers and timestamps stay on the fake (monotonic) clock, as the system's do when the wall clock steps.
    /// </summary>
    private sealed class SteppingClock(FakeTimeProvider fake) : TimeProvider
    {
        private long _stepTicks;

        public void Step(TimeSpan by) => Interlocked.Add(ref _stepTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow().AddTicks(Interlocked.Read(ref _stepTicks));

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override long GetTimestamp() => fake.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            fake.CreateTimer(callback, state, dueTime, period);
    }
}
