using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Quartz;

namespace JourneyWorker.Runtime;

/// <summary>
/// Keeps Quartz triggers in step with journeys: the poller (every process, in memory), and one Read Audience schedule
/// per live (or test-mode) version — in memory on SQLite, in the clustered store on PostgreSQL, so that each
/// occurrence fires on exactly one worker, and a read cut off by a dying worker is run again on another. Misfires
/// (every worker down when a read was due): a once-read fires as soon as a worker is back; a daily, weekly or cron
/// read fires once for what was missed, then keeps its times. Daily, weekly and cron times are wall-clock times in
/// Journeys:DefaultTimeZone (a schedule names no zone of its own): 09:00 stays 09:00 across daylight saving changes; a
/// time the spring change skips fires when the clocks resume (02:30 becomes 03:00), and one the autumn change repeats
/// fires once, the first time.
/// </summary>
public sealed partial class JourneySchedules(
    ISchedulerFactory schedulers,
    IServiceScopeFactory scopes,
    JourneyCatalog catalog,
    JourneyConnections connections,
    IOptions<RuntimeOptions> options,
    ProfileTimeZones zones,
    TimeProvider time,
    ILogger<JourneySchedules> logger) : IHostedService
{
    /// <summary>The name of the clustered scheduler (PostgreSQL): one name shared by every worker of the cluster.</summary>
    public const string ClusteredScheduler = "journeyworker-schedules";

    private bool Clustered => connections.Provider == StorageProvider.PostgreSql;

    /// <summary>The zone of recurring schedules: Journeys:DefaultTimeZone (checked at start: JourneyOptionsValidator).</summary>
    private TimeZoneInfo Zone => zones.Default;

    private async Task<IScheduler> ReadsAsync(CancellationToken cancellationToken) => Clustered
        ? await schedulers.LookupScheduler(ClusteredScheduler, cancellationToken)
            ?? throw new InvalidOperationException($"The clustered Quartz scheduler '{ClusteredScheduler}' has not started.")
        : await schedulers.GetScheduler(cancellationToken);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var poll = JobBuilder.Create<PollDueInstancesJob>().WithIdentity(PollDueInstancesJob.Key).Build();
        var trigger = TriggerBuilder.Create(time).WithIdentity("poll-due-instances", "runtime").StartAt(time.GetUtcNow())
            .WithSimpleSchedule(s => s.WithInterval(options.Value.PollInterval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();
        await scheduler.ScheduleJob(poll, trigger, new ScheduleJobOptions { Replace = true }, cancellationToken);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        var versions = await db.JourneyVersions.AsNoTracking()
            .Where(v => v.Status == JourneyStatus.Live || (v.Status == JourneyStatus.Draft && v.TestMode))
            .Select(v => v.Id).ToListAsync(cancellationToken);
        var reads = await ReadsAsync(cancellationToken);
        foreach (var id in versions)
        {
            // Another worker of the cluster may have scheduled it already: its trigger (and next fire time) stays, unless
            // it counts in another zone (Journeys:DefaultTimeZone was changed): then the times are made again in this one.
            if (Clustered && await reads.GetJobDetail(JobKeyFor(id), cancellationToken) is not null
                && !await InAnotherZoneAsync(reads, id, cancellationToken))
            {
                continue;
            }
            await ScheduleAsync(db, id, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether the version's stored trigger is a recurring one made in a zone other than today's setting.</summary>
    private async Task<bool> InAnotherZoneAsync(IScheduler reads, Guid versionId, CancellationToken cancellationToken) =>
        await reads.GetTrigger(TriggerKeyFor(versionId), cancellationToken) is ICronTrigger cron && cron.TimeZone.Id != Zone.Id;

    /// <summary>(Re)creates the Read Audience trigger of a version that starts with readAudience.</summary>
    public async Task ScheduleAsync(JourneyDbContext db, Guid versionId, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var journey = await catalog.GetAsync(db, versionId, cancellationToken);
        if (journey?.Start is not { Type: NodeTypes.ReadAudience } start)
        {
            return;
        }

        var test = journey.Version.Status == JourneyStatus.Draft;
        var schedule = start.Schedule ?? new ScheduleDefinition("once", null, null);
        // Test mode reads the test profiles right away; a finished once-read is not repeated after a restart.
        if (!test && (schedule.Frequency ?? "once") == "once" && journey.Version.AudienceReadAt is not null)
        {
            return;
        }

        var scheduler = await ReadsAsync(cancellationToken);
        var key = JobKeyFor(versionId);
        await scheduler.DeleteJob(key, cancellationToken);
        // Recovery: when the worker running a read dies, another worker of the cluster runs that firing again once the
        // dead one misses its check-ins (the read skips whoever it already admitted). Without it Quartz only frees the
        // trigger, and a cut-off once-read stays cut off until some worker restarts.
        var job = JobBuilder.Create<ReadAudienceJob>().WithIdentity(key).RequestRecovery()
            .UsingJobData(ReadAudienceJob.VersionKey, versionId.ToString())
            .UsingJobData(ReadAudienceJob.TestOnlyKey, test ? "true" : "false")
            .Build();
        // On the engine's clock: a builder left to itself starts a recurring schedule from the system's "now".
        var trigger = TriggerBuilder.Create(time).WithIdentity(TriggerKeyFor(versionId));
        var now = time.GetUtcNow();
        trigger = (test ? "once" : schedule.Frequency ?? "once") switch
        {
            "daily" => trigger.WithCronSchedule(DailyCron(schedule.At ?? now, Zone), Recurring),
            "weekly" => trigger.WithCronSchedule(WeeklyCron(schedule.At ?? now, Zone), Recurring),
            "cron" => trigger.WithCronSchedule(schedule.Cron!, Recurring),
            _ => trigger.StartAt(!test && schedule.At is { } at && at > now ? at : now)
                .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow)),
        };
        await scheduler.ScheduleJob(job, trigger.Build(), new ScheduleJobOptions { Replace = true }, cancellationToken);
        LogScheduled(logger, versionId, test ? "test" : schedule.Frequency ?? "once");
    }

    public async Task UnscheduleAsync(Guid versionId, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        var scheduler = await ReadsAsync(cancellationToken);
        await scheduler.DeleteJob(JobKeyFor(versionId), cancellationToken);
    }

    private void Recurring(CronScheduleBuilder cron) =>
        cron.InTimeZone(Zone).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed);

    private static JobKey JobKeyFor(Guid versionId) => new($"read-audience-{versionId:N}", "journeys");

    private static TriggerKey TriggerKeyFor(Guid versionId) => new($"read-audience-{versionId:N}", "journeys");

    /// <summary>Every day at the wall-clock time <paramref name="at"/> shows in <paramref name="zone"/>.</summary>
    internal static string DailyCron(DateTimeOffset at, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return $"{local.Second} {local.Minute} {local.Hour} * * ?";
    }

    /// <summary>Every week on the weekday and at the wall-clock time <paramref name="at"/> shows in <paramref name="zone"/>.</summary>
    internal static string WeeklyCron(DateTimeOffset at, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return $"{local.Second} {local.Minute} {local.Hour} ? * {(int)local.DayOfWeek + 1}";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Read Audience scheduled for journey version {VersionId} ({Frequency})")]
    private static partial void LogScheduled(ILogger logger, Guid versionId, string frequency);
}
