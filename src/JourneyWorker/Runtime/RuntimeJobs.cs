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

/// <summary>Quartz adapter: one Read Audience run for the journey version named in the job data.</summary>
[DisallowConcurrentExecution]
public sealed class ReadAudienceJob(AudienceReader reader) : IJob
{
    public const string VersionKey = "versionId";
    public const string TestOnlyKey = "testOnly";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var data = context.MergedJobDataMap;
        var versionId = Guid.Parse(data[VersionKey]?.ToString() ?? "");
        var testOnly = data.TryGetValue(TestOnlyKey, out var test) && test?.ToString() == "true";
        await reader.ReadAsync(versionId, testOnly, cancellationToken);
    }
}
