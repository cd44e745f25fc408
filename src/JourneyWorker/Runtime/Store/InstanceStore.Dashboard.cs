using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

/// <summary>A failed step: where, when and why (the step's detail).</summary>
public sealed record FailedStep(long InstanceId, string NodeId, DateTime At, string? Detail);

/// <summary>The reads the dashboard needs beyond the report: counts over all journeys, a profile's instances, recent failures.</summary>
public sealed partial class InstanceStore
{
    /// <summary>
    /// Instances per version and status, for every journey at once: one pass over the (JourneyVersionId, Status) index
    /// instead of a query per journey.
    /// </summary>
    public async Task<Dictionary<Guid, Dictionary<string, int>>> InstancesPerVersionAndStatusAsync(CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        var rows = await session.Db.JourneyInstances.GroupBy(i => new { i.JourneyVersionId, i.Status })
            .Select(g => new { g.Key.JourneyVersionId, g.Key.Status, Count = g.Count() }).ToListAsync(cancellationToken);
        return rows.GroupBy(r => r.JourneyVersionId)
            .ToDictionary(g => g.Key, g => g.ToDictionary(r => r.Status, r => r.Count, StringComparer.Ordinal));
    }

    /// <summary>The profile's instances in any journey, newest first (the (ProfileId, WaitingFor) index finds them).</summary>
    public async Task<List<JourneyInstance>> InstancesOfProfileAsync(long profileId, int limit, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.AsNoTracking().Where(i => i.ProfileId == profileId)
            .OrderByDescending(i => i.Id).Take(limit).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// The journey's newest failed steps. The step table is searched by its (NodeId, Outcome) index for the journey's
    /// node ids, so that the cost follows the failures, not the size of the history.
    /// </summary>
    public async Task<List<FailedStep>> RecentFailuresAsync(Guid journeyId, IReadOnlyCollection<string> nodeIds, int limit, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        var db = session.Db;
        var failed = StepOutcome.Failed;
        return await db.InstanceSteps.AsNoTracking()
            .Where(s => nodeIds.Contains(s.NodeId) && s.Outcome == failed)
            .Join(db.JourneyInstances.Where(i => i.JourneyId == journeyId), s => s.InstanceId, i => i.Id, (s, _) => s)
            .OrderByDescending(s => s.Id).Take(limit)
            .Select(s => new FailedStep(s.InstanceId, s.NodeId, s.At, s.Detail))
            .ToListAsync(cancellationToken);
    }
}
