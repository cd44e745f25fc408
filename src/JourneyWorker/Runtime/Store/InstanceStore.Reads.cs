using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

/// <summary>Step and status counts of a journey's instances, as its report shows them.</summary>
public sealed record StepCount(string NodeId, string Outcome, int Count);

/// <summary>The read side of the instance tables: reports and instance traces.</summary>
public sealed partial class InstanceStore
{
    /// <summary>Stored steps of the journey's instances by node and outcome (entry steps are not stored: see <see cref="StoredSteps"/>).</summary>
    public async Task<List<StepCount>> StepCountsAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        var db = session.Db;
        var instances = db.JourneyInstances.Where(i => i.JourneyId == journeyId);
        return await db.InstanceSteps
            .Where(s => instances.Any(i => i.Id == s.InstanceId))
            .GroupBy(s => new { s.NodeId, s.Outcome })
            .Select(g => new StepCount(g.Key.NodeId, g.Key.Outcome, g.Count()))
            .ToListAsync(cancellationToken);
    }

    /// <summary>The report's counters of these versions, each node's shards summed.</summary>
    public async Task<List<NodeCounter>> NodeCountersAsync(IReadOnlyCollection<Guid> versionIds, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.NodeCounters.AsNoTracking().Where(c => versionIds.Contains(c.VersionId))
            .GroupBy(c => new { c.VersionId, c.NodeId })
            .Select(g => new NodeCounter
            {
                VersionId = g.Key.VersionId,
                NodeId = g.Key.NodeId,
                Entered = g.Sum(c => c.Entered),
                Succeeded = g.Sum(c => c.Succeeded),
                Failed = g.Sum(c => c.Failed),
                TimedOut = g.Sum(c => c.TimedOut),
                Skipped = g.Sum(c => c.Skipped),
                Exited = g.Sum(c => c.Exited),
                Active = g.Sum(c => c.Active),
                Waiting = g.Sum(c => c.Waiting),
                EndedCompleted = g.Sum(c => c.EndedCompleted),
                EndedFailed = g.Sum(c => c.EndedFailed),
                EndedExited = g.Sum(c => c.EndedExited),
                Conversions = g.Sum(c => c.Conversions),
            })
            .ToListAsync(cancellationToken);
    }

    /// <summary>Messages of the journey's instances with a reaction of one of these kinds, by node and kind (as StepCounts).</summary>
    public async Task<List<StepCount>> ReactionCountsAsync(Guid journeyId, IReadOnlyCollection<string> kinds, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        var db = session.Db;
        var instances = db.JourneyInstances.Where(i => i.JourneyId == journeyId);
        return await db.MessageReactions
            .Where(r => kinds.Contains(r.Kind))
            .Join(db.OutboxMessages.Where(m => instances.Any(i => i.Id == m.InstanceId)), r => r.OutboxMessageId, m => m.Id, (r, m) => new { m.NodeId, r.Kind })
            .GroupBy(x => new { x.NodeId, x.Kind })
            .Select(g => new StepCount(g.Key.NodeId, g.Key.Kind, g.Count()))
            .ToListAsync(cancellationToken);
    }

    /// <summary>The outbox row that sent the message with this Message-ID (without angle brackets), if it is still kept.</summary>
    public async Task<long?> MessageByIdAsync(string messageId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        var ids = await session.Db.OutboxMessages.Where(m => m.MessageId == messageId).Select(m => m.Id).Take(1).ToListAsync(cancellationToken);
        return ids.Count == 0 ? null : ids[0];
    }

    /// <summary>How many instances the journey has per version.</summary>
    public async Task<Dictionary<Guid, int>> InstancesPerVersionAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.Where(i => i.JourneyId == journeyId)
            .GroupBy(i => i.JourneyVersionId).Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
    }

    /// <summary>How many instances of the journey wait at each node now.</summary>
    public async Task<Dictionary<string, int>> WaitingPerNodeAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.Where(i => i.JourneyId == journeyId && i.Status == InstanceStatus.Waiting && i.NodeId != null)
            .GroupBy(i => i.NodeId!).Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, StringComparer.Ordinal, cancellationToken);
    }

    /// <summary>The journey's conversions per message node they are attributed to ("" for none).</summary>
    public async Task<Dictionary<string, int>> ConversionsPerNodeAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.Conversions.Where(c => c.JourneyId == journeyId)
            .GroupBy(c => c.NodeId ?? "").Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, StringComparer.Ordinal, cancellationToken);
    }

    /// <summary>How many instances the journey has per status.</summary>
    public async Task<Dictionary<string, int>> InstancesPerStatusAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.Where(i => i.JourneyId == journeyId)
            .GroupBy(i => i.Status).Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, StringComparer.Ordinal, cancellationToken);
    }

    /// <summary>The journey's first <paramref name="limit"/> instances, of the profile with that identity when one is given.</summary>
    public async Task<List<JourneyInstance>> InstancesAsync(Guid journeyId, string? ns, string? identity, int limit, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        var db = session.Db;
        var query = db.JourneyInstances.AsNoTracking().Where(i => i.JourneyId == journeyId);
        if (ns is not null)
        {
            query = query.Where(i => db.ProfileIdentities.Any(p => p.ProfileId == i.ProfileId && p.Namespace == ns && p.Value == identity));
        }
        return await query.OrderBy(i => i.Id).Take(limit).ToListAsync(cancellationToken);
    }

    public async Task<JourneyInstance?> InstanceAsync(long id, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.JourneyInstances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, cancellationToken);
    }

    /// <summary>The instance's stored steps in order.</summary>
    public async Task<List<InstanceStep>> StepsAsync(long instanceId, CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.Db.InstanceSteps.AsNoTracking().Where(s => s.InstanceId == instanceId).OrderBy(s => s.Seq).ToListAsync(cancellationToken);
    }
}
