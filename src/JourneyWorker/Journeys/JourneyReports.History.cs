using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

public sealed partial class JourneyReports
{
    /// <summary>
    /// The same report recomputed from the step history, the instances and the conversions, scanning all of them: what
    /// the counters must always equal. Not served (it grows with the history); kept as the check of the counters and
    /// the baseline of the report benchmark.
    /// </summary>
    public async Task<JourneyReport?> ReportFromHistoryAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        if (!await db.Journeys.AnyAsync(j => j.Id == journeyId, cancellationToken))
        {
            return null;
        }

        var steps = await store.StepCountsAsync(journeyId, cancellationToken);
        var (versions, nodeIds) = await VersionsAsync(journeyId, cancellationToken);
        foreach (var version in await store.InstancesPerVersionAsync(journeyId, cancellationToken))
        {
            if (versions.GetValueOrDefault(version.Key)?.Start?.Id is { } start)
            {
                steps.Add(new StepCount(start, StepOutcome.Entered, version.Value));
                steps.Add(new StepCount(start, StepOutcome.Succeeded, version.Value));
            }
        }
        var waiting = await store.WaitingPerNodeAsync(journeyId, cancellationToken);
        var conversions = await store.ConversionsPerNodeAsync(journeyId, cancellationToken);
        var feedback = await store.ReactionCountsAsync(journeyId, [FeedbackReactions.Bounced, FeedbackReactions.Complained], cancellationToken);
        var byNode = steps.Concat(feedback).ToLookup(s => s.NodeId, StringComparer.Ordinal);
        var nodes = new Dictionary<string, NodeReport>(StringComparer.Ordinal);
        var recorded = steps.Where(s => s.Count != 0).Select(s => s.NodeId).Concat(waiting.Keys).Order(StringComparer.Ordinal);
        foreach (var id in nodeIds.Concat(recorded).Distinct(StringComparer.Ordinal))
        {
            int Count(string outcome) => byNode[id].Where(s => s.Outcome == outcome).Sum(s => s.Count);
            nodes[id] = new NodeReport(Count(StepOutcome.Entered), Count(StepOutcome.Succeeded), Count(StepOutcome.Failed), Count(StepOutcome.TimedOut),
                Count(StepOutcome.Skipped), waiting.GetValueOrDefault(id), conversions.GetValueOrDefault(id),
                Count(FeedbackReactions.Bounced), Count(FeedbackReactions.Complained));
        }

        var byStatus = await store.InstancesPerStatusAsync(journeyId, cancellationToken);
        int Status(string status) => byStatus.GetValueOrDefault(status);
        return new JourneyReport(nodes, new InstanceCounts(
            Status(InstanceStatus.Active), Status(InstanceStatus.Waiting), Status(InstanceStatus.Completed), Status(InstanceStatus.Failed), Status(InstanceStatus.Exited)),
            conversions.Values.Sum());
    }
}
