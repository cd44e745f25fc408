using System.Globalization;
using Microsoft.Extensions.Options;
using Quartz;

namespace JourneyWorker.Runtime;

/// <summary>Quartz adapter: drains due instances. One at a time per process; other processes coordinate through leases.</summary>
[DisallowConcurrentExecution]
public sealed class PollDueInstancesJob(InstancePoller poller, IOptions<RuntimeOptions> options) : IJob
{
    public static readonly JobKey Key = new("poll-due-instances", "runtime");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (options.Value.Enabled)
        {
            // The poller stops claiming once the host is stopping, so that SIGTERM waits for the batch in
            // flight, not for the whole backlog (bounded by Shutdown:Timeout).
            await poller.PollAsync(cancellationToken);
        }
    }
}

/// <summary>
/// Quartz adapter: one Read Audience run for the journey version named in the job data. Each run is logged with the
/// occurrence it belongs to and the worker that runs it, so that which process ran which occurrence can be followed
/// across a cluster; a recovered run (its worker died mid-read) names the occurrence it finishes.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class ReadAudienceJob(AudienceReader reader, IOptions<RuntimeOptions> options, ILogger<ReadAudienceJob> logger) : IJob
{
    public const string VersionKey = "versionId";
    public const string TestOnlyKey = "testOnly";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var data = context.MergedJobDataMap;
        var versionId = Guid.Parse(data[VersionKey]?.ToString() ?? "");
        var testOnly = data.TryGetValue(TestOnlyKey, out var test) && test?.ToString() == "true";
        LogOccurrence(logger, Occurrence(context).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), versionId, options.Value.WorkerId, context.Recovering);
        await reader.ReadAsync(versionId, testOnly, cancellationToken);
    }

    /// <summary>
    /// The time the run was scheduled for (UTC; logged to the second, the precision Quartz keeps for a recovered firing);
    /// a recovery run names the scheduled time of the firing it redoes.
    /// </summary>
    public static DateTimeOffset Occurrence(IJobExecutionContext context) =>
        context.Recovering
            && context.MergedJobDataMap.TryGetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime, out var original)
            && DateTimeOffset.TryParse(original, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var scheduled)
            ? scheduled.ToUniversalTime()
            : context.ScheduledFireTimeUtc ?? context.FireTimeUtc;

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Read Audience occurrence {Occurrence} of journey version {VersionId} runs on worker {WorkerId} (recovering: {Recovering})")]
    private static partial void LogOccurrence(ILogger logger, string occurrence, Guid versionId, string workerId, bool recovering);
}
