using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime;

/// <summary>What a batch of claimed instances needs, read in a handful of set-based queries instead of several per instance.</summary>
public sealed record InstanceBatch(List<InstanceRun> Runs, IReadOnlySet<string> SuppressedAddresses);

public static class InstanceBatchLoader
{
    public static async Task<InstanceBatch> LoadAsync(
        JourneyDbContext db, JourneyCatalog catalog, IReadOnlyCollection<long> ids, string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Only what is still ours: a claim can be lost to a stop, a deletion or an expired lease.
        var instances = await db.JourneyInstances.AsNoTracking()
            .Where(i => ids.Contains(i.Id) && i.LeaseOwner == owner)
            .OrderBy(i => i.Id)
            .ToListAsync(cancellationToken);
        var runs = instances.Select(i => new InstanceRun(i, now)).ToList();
        if (runs.Count == 0)
        {
            return new InstanceBatch(runs, new HashSet<string>());
        }

        foreach (var versionId in instances.Select(i => i.JourneyVersionId).Distinct())
        {
            var journey = await catalog.GetAsync(db, versionId, cancellationToken);
            foreach (var run in runs.Where(r => r.Instance.JourneyVersionId == versionId))
            {
                run.Journey = journey;
            }
        }

        var profileIds = instances.Select(i => i.ProfileId).Distinct().ToList();
        var profiles = await db.Profiles.AsNoTracking().Include(p => p.Identities).Include(p => p.PushTokens)
            .AsSplitQuery()
            .Where(p => profileIds.Contains(p.Id))
            .ToDictionaryAsync(p => p.Id, cancellationToken);
        var byInstance = runs.ToDictionary(r => r.Instance.Id);
        foreach (var run in runs)
        {
            run.Profile = profiles.GetValueOrDefault(run.Instance.ProfileId);
        }

        var instanceIds = byInstance.Keys.ToList();
        var outbox = await db.OutboxMessages.AsNoTracking().Where(m => instanceIds.Contains(m.InstanceId)).ToListAsync(cancellationToken);
        foreach (var message in outbox)
        {
            byInstance[message.InstanceId].Outbox[message.NodeId] = message;
        }

        // Reactions that came before the instance reaches its reaction node (rare, so the set is small);
        // one arriving later still is caught inside the commit (InstanceBatchWriter).
        var reactions = await db.MessageReactions.AsNoTracking()
            .Join(db.OutboxMessages, r => r.OutboxMessageId, m => m.Id, (r, m) => new { m.InstanceId, m.NodeId, r.Kind })
            .Where(x => instanceIds.Contains(x.InstanceId))
            .ToListAsync(cancellationToken);
        foreach (var reaction in reactions)
        {
            byInstance[reaction.InstanceId].Reactions.Add((reaction.NodeId, reaction.Kind));
        }

        var hashes = profiles.Values.Select(ProfileAddresses.Email).OfType<string>().Select(ProfileAddresses.SuppressionKey).Distinct().ToList();
        var suppressed = hashes.Count == 0
            ? []
            : await db.EmailSuppressions.AsNoTracking().Where(s => hashes.Contains(s.AddressHash)).Select(s => s.AddressHash).ToListAsync(cancellationToken);
        return new InstanceBatch(runs, suppressed.ToHashSet(StringComparer.Ordinal));
    }
}
