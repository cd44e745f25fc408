using System.Globalization;
using System.Text.Json.Nodes;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quartz;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Daily, weekly and cron Read Audience schedules in Journeys:DefaultTimeZone (Europe/Berlin) across its daylight saving
/// changes, with Quartz and the engine running in the host's background on the fake clock. Berlin in 2026: the clocks go
/// from 02:00 to 03:00 on Sunday 29 March and from 03:00 back to 02:00 on Sunday 25 October.
/// </summary>
public sealed class ScheduleTimeZoneTests
{
    private const string Zone = "Europe/Berlin";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string, string[]> Schedules => new()
    {
        // 09:00 local is 08:00 UTC in winter and 07:00 UTC in summer.
        { "daily across spring", "2026-03-27T10:00:00Z", """{"frequency": "daily", "at": "2026-03-27T09:00:00+01:00"}""",
            ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"] },
        // Sundays at 09:00, given as a UTC instant: the weekday and time are Berlin's.
        { "weekly across spring", "2026-03-20T12:00:00Z", """{"frequency": "weekly", "at": "2026-03-22T08:00:00Z"}""",
            ["2026-03-22T08:00:00Z", "2026-03-29T07:00:00Z", "2026-04-05T07:00:00Z"] },
        // Weekdays at 09:30: Friday in summer time, Monday and Tuesday in winter time.
        { "cron across autumn", "2026-10-22T12:00:00Z", """{"frequency": "cron", "cron": "0 30 9 ? * MON-FRI"}""",
            ["2026-10-23T07:30:00Z", "2026-10-26T08:30:00Z", "2026-10-27T08:30:00Z"] },
        // 02:30 does not exist on 29 March: that day's read runs when the clocks resume at 03:00.
        { "daily at a skipped time", "2026-03-27T12:00:00Z", """{"frequency": "daily", "at": "2026-03-27T02:30:00+01:00"}""",
            ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"] },
        // 02:30 happens twice on 25 October: the read runs once, at the first (summer-time) one.
        { "daily at a repeated time", "2026-10-23T12:00:00Z", """{"frequency": "daily", "at": "2026-10-23T02:30:00+02:00"}""",
            ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"] },
    };

    [Theory]
    [MemberData(nameof(Schedules))]
    public async Task Occurrences_fire_once_each_at_the_local_time_before_and_after_the_change(string name, string start, string schedule, string[] expected)
    {
        Assert.NotEmpty(name);
        var occurrences = expected.Select(e => DateTimeOffset.Parse(e, CultureInfo.InvariantCulture)).ToList();
        var logs = new LogCapture();
        await using var h = await EngineHarness.StartAsync(Ct, background: true, configure: app =>
        {
            app.Time.SetUtcNow(DateTimeOffset.Parse(start, CultureInfo.InvariantCulture));
            app.With("Journeys:DefaultTimeZone", Zone)
                .With($"Logging:LogLevel:{typeof(ReadAudienceJob).FullName}", "Information")
                .WithServices(s => s.AddSingleton<ILoggerProvider>(logs));
        });
        await PublishAsync(h, schedule);

        var fired = new List<DateTimeOffset>();
        foreach (var due in occurrences)
        {
            // Straight to just before the occurrence (an earlier, wrong firing would be run on the way, as a misfire),
            // then on in small steps until it fires and its e-mail is out.
            Assert.Equal(fired.Count, Occurrences(logs).Count);
            h.App.Time.SetUtcNow(due.AddSeconds(-2));
            await RunClockUntilAsync(h, () => Occurrences(logs).Count > fired.Count && h.Smtp.Messages.Count > fired.Count, due.AddSeconds(30));
            fired.Add(Occurrences(logs)[^1]);
        }
        // Half a day more: nothing else is due, nothing else fires (a repeated local hour included).
        await RunClockUntilAsync(h, () => false, h.App.Time.GetUtcNow().AddHours(12), TimeSpan.FromMinutes(15), failAtDeadline: false);

        Assert.Equal(occurrences, Occurrences(logs));
        Assert.Equal(occurrences.Count, h.Smtp.Messages.Count);
        await using var db = h.App.Db();
        var entered = db.JourneyInstances.Select(i => i.EnteredAt).AsEnumerable().Select(e => new DateTimeOffset(e, TimeSpan.Zero)).Order().ToList();
        Assert.Equal(occurrences.Count, entered.Count);
        // Each read admitted the profile at its occurrence: the clock goes on in small steps while Quartz takes the trigger
        // (on PostgreSQL through its clustered store), so a little after it, and far less than the hour a zone error makes.
        Assert.All(occurrences.Zip(entered), p => Assert.InRange(p.Second, p.First, p.First.AddMinutes(1)));
    }

    [Fact]
    public async Task A_restart_with_another_zone_moves_the_existing_schedule_to_it()
    {
        // On PostgreSQL the trigger outlives the process in the clustered store: the restart must remake it, not keep it.
        var folder = Directory.CreateTempSubdirectory("journeyworker-zone-").FullName;
        using var database = TestDatabase.Create(folder);
        try
        {
            await using (var utc = await EngineHarness.StartAsync(Ct, background: true, configure: app => app.On(database)))
            {
                await PublishAsync(utc, """{"frequency": "daily", "at": "2026-03-02T08:00:00Z"}""");
                var trigger = await ReadTriggerAsync(utc);
                Assert.Equal(("UTC", "0 0 8 * * ?"), (trigger.TimeZone.Id, trigger.CronExpressionString));
            }
            await using (var berlin = await EngineHarness.StartAsync(Ct, background: true, configure: app => app.On(database).With("Journeys:DefaultTimeZone", Zone)))
            {
                var trigger = await ReadTriggerAsync(berlin);
                Assert.Equal((Zone, "0 0 9 * * ?"), (trigger.TimeZone.Id, trigger.CronExpressionString));
                Assert.Equal(DateTimeOffset.Parse("2026-03-03T08:00:00Z", CultureInfo.InvariantCulture), trigger.NextFireTimeUtc);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void An_unknown_zone_stops_the_start_and_names_the_setting()
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With("Journeys:DefaultTimeZone", "Mars/Olympus_Mons"));
        Assert.Contains("Journeys:DefaultTimeZone 'Mars/Olympus_Mons' is not a time zone", error, StringComparison.Ordinal);
    }

    /// <summary>The one Read Audience trigger, from the scheduler that keeps it (the clustered one on PostgreSQL).</summary>
    private static async Task<ICronTrigger> ReadTriggerAsync(EngineHarness h)
    {
        var schedulers = h.App.Services.GetRequiredService<ISchedulerFactory>();
        var scheduler = TestProvider.IsPostgreSql
            ? (await schedulers.LookupScheduler(JourneySchedules.ClusteredScheduler, Ct))!
            : await schedulers.GetScheduler(Ct);
        await using var db = h.App.Db();
        var version = db.JourneyVersions.Single(v => v.Status == "live").Id;
        return Assert.IsAssignableFrom<ICronTrigger>(await scheduler.GetTrigger(new TriggerKey($"read-audience-{version:N}", "journeys"), Ct));
    }

    private static List<DateTimeOffset> Occurrences(LogCapture logs) =>
        [.. logs.Entries.Where(e => e.Category == typeof(ReadAudienceJob).FullName && e.Values.ContainsKey("Occurrence"))
            .Select(e => DateTimeOffset.Parse(e.Values["Occurrence"]!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))];

    private static async Task PublishAsync(EngineHarness h, string schedule)
    {
        await h.ImportAsync("""
            {"identities": {"email": "ann@example.com"}, "attributes": {"person": {"name": {"firstName": "Ann"}}, "homeAddress": {"city": "Berlin"}}}
            """, Ct);
        var audience = JsonNode.Parse(await h.PostJsonAsync("/api/audiences", """{"name": "Berlin", "rule": "homeAddress.city = \"Berlin\""}""", Ct, 201))!["id"]!;
        var journey = JsonNode.Parse(await h.PostJsonAsync("/api/journeys", $$"""
            {"name": "Every morning", "start": "read", "reentrance": {"allowed": true}, "nodes": [
              {"id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": {{schedule}}, "next": "hello"},
              {"id": "hello", "type": "email", "subject": "Good morning", "html": "<p>Good morning</p>"}]}
            """, Ct, 201))!["id"]!;
        await h.PostJsonAsync($"/api/journeys/{journey}/publish", "{}", Ct);
    }

    /// <summary>
    /// Moves the fake clock (Quartz and the engine follow it) in <paramref name="step"/>s, giving the background a moment
    /// of real time after each, until <paramref name="done"/> or the clock reaches <paramref name="until"/>.
    /// </summary>
    private static async Task RunClockUntilAsync(EngineHarness h, Func<bool> done, DateTimeOffset until, TimeSpan? step = null, bool failAtDeadline = true)
    {
        var realDeadline = DateTime.UtcNow.AddSeconds(20);
        while (!done())
        {
            if (h.App.Time.GetUtcNow() >= until || DateTime.UtcNow >= realDeadline)
            {
                await using var db = h.App.Db();
                var instances = string.Join(", ", db.JourneyInstances.Select(i => i.Status + " entered " + i.EnteredAt).ToList());
                Assert.False(failAtDeadline, $"Nothing happened by {h.App.Time.GetUtcNow():O}: {h.Smtp.Messages.Count} e-mails, instances: {instances}");
                return;
            }
            h.Advance(step ?? TimeSpan.FromMilliseconds(250));
            await Task.Delay(15, Ct);
        }
    }
}
