using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>
/// Read side: per-node counts, instance counts by status, instance traces. The report reads the per-version counters
/// the store keeps with every write (<see cref="NodeCounter"/>): a few rows per node whatever the number of instances.
/// The entry steps are not stored (<see cref="EntrySteps"/>): a version's start node counts its instances.
/// </summary>
public sealed partial class JourneyReports(JourneyDbContext db, JourneyCatalog catalog, InstanceStore store)
{
    public async Task<JourneyReport?> ReportAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        if (!await db.Journeys.AnyAsync(j => j.Id == journeyId, cancellationToken))
        {
            return null;
        }

        var (versions, nodeIds) = await VersionsAsync(journeyId, cancellationToken);
        var counters = await store.NodeCountersAsync(versions.Keys, cancellationToken);
        var steps = new Dictionary<string, long[]>(StringComparer.Ordinal);
        long[] At(string node) => steps.TryGetValue(node, out var row) ? row : steps[node] = new long[6];
        var waiting = new Dictionary<string, int>(StringComparer.Ordinal);
        var conversions = new Dictionary<string, int>(StringComparer.Ordinal);
        var perVersion = new Dictionary<Guid, long>();
        long active = 0, waitingAll = 0, completed = 0, failed = 0, exited = 0;
        foreach (var c in counters)
        {
            var row = At(c.NodeId);
            row[0] += c.Entered;
            row[1] += c.Succeeded;
            row[2] += c.Failed;
            row[3] += c.TimedOut;
            row[4] += c.Skipped;
            row[5] += c.Exited;
            if (c.Waiting != 0 && c.NodeId.Length > 0)
            {
                waiting[c.NodeId] = waiting.GetValueOrDefault(c.NodeId) + (int)c.Waiting;
            }
            if (c.Conversions != 0)
            {
                conversions[c.NodeId] = conversions.GetValueOrDefault(c.NodeId) + (int)c.Conversions;
            }
            perVersion[c.VersionId] = perVersion.GetValueOrDefault(c.VersionId) + c.Active + c.Waiting + c.EndedCompleted + c.EndedFailed + c.EndedExited;
            (active, waitingAll, completed, failed, exited) =
                (active + c.Active, waitingAll + c.Waiting, completed + c.EndedCompleted, failed + c.EndedFailed, exited + c.EndedExited);
        }
        // Each instance entered its version's start node and left it at once (the two steps that are not stored).
        foreach (var (version, count) in perVersion)
        {
            if (count != 0 && versions.GetValueOrDefault(version)?.Start?.Id is { } start)
            {
                At(start)[0] += count;
                At(start)[1] += count;
            }
        }

        // Bounces and complaints are reactions on the node's messages; a message counts once for each.
        var feedback = (await store.ReactionCountsAsync(journeyId, [FeedbackReactions.Bounced, FeedbackReactions.Complained], cancellationToken))
            .ToLookup(s => s.NodeId, StringComparer.Ordinal);
        var nodes = new Dictionary<string, NodeReport>(StringComparer.Ordinal);
        // The newest version's nodes first, then any node only older versions had or that only history names.
        var recorded = steps.Where(s => s.Value.Any(v => v != 0)).Select(s => s.Key).Concat(waiting.Keys).Order(StringComparer.Ordinal);
        foreach (var id in nodeIds.Concat(recorded).Distinct(StringComparer.Ordinal))
        {
            var row = steps.GetValueOrDefault(id) ?? new long[6];
            int Reactions(string kind) => feedback[id].Where(s => s.Outcome == kind).Sum(s => s.Count);
            nodes[id] = new NodeReport((int)row[0], (int)row[1], (int)row[2], (int)row[3], (int)row[4], waiting.GetValueOrDefault(id), conversions.GetValueOrDefault(id),
                Reactions(FeedbackReactions.Bounced), Reactions(FeedbackReactions.Complained));
        }
        return new JourneyReport(nodes, new InstanceCounts((int)active, (int)waitingAll, (int)completed, (int)failed, (int)exited), conversions.Values.Sum());
    }

    /// <summary>The journey's versions (compiled once each) and their nodes, newest version first.</summary>
    private async Task<(Dictionary<Guid, CompiledJourney?> Versions, List<string> NodeIds)> VersionsAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        var versions = new Dictionary<Guid, CompiledJourney?>();
        var nodeIds = new List<string>();
        foreach (var version in await db.JourneyVersions.AsNoTracking().Where(v => v.JourneyId == journeyId).OrderByDescending(v => v.Version)
                     .Select(v => v.Id).ToListAsync(cancellationToken))
        {
            var journey = versions[version] = await catalog.GetAsync(db, version, cancellationToken);
            nodeIds.AddRange((journey?.Definition.Nodes ?? []).Select(n => n.Id).OfType<string>());
        }
        return (versions, nodeIds);
    }

    public async Task<List<InstanceResponse>?> InstancesAsync(Guid journeyId, string? ns, string? identity, CancellationToken cancellationToken)
    {
        if (!await db.Journeys.AnyAsync(j => j.Id == journeyId, cancellationToken))
        {
            return null;
        }

        var list = await store.InstancesAsync(journeyId, ns, identity, 500, cancellationToken);
        var result = new List<InstanceResponse>(list.Count);
        foreach (var instance in list)
        {
            result.Add(await ToResponseAsync(instance, cancellationToken));
        }
        return result;
    }

    /// <summary>The profile's instances in every journey, newest first, with their steps.</summary>
    public async Task<List<InstanceResponse>> ProfileInstancesAsync(long profileId, int limit, CancellationToken cancellationToken)
    {
        var result = new List<InstanceResponse>();
        foreach (var instance in await store.InstancesOfProfileAsync(profileId, limit, cancellationToken))
        {
            result.Add(await ToResponseAsync(instance, cancellationToken));
        }
        return result;
    }

    public async Task<InstanceResponse?> InstanceAsync(long id, CancellationToken cancellationToken)
    {
        var instance = await store.InstanceAsync(id, cancellationToken);
        return instance is null ? null : await ToResponseAsync(instance, cancellationToken);
    }

    private async Task<InstanceResponse> ToResponseAsync(JourneyInstance i, CancellationToken cancellationToken)
    {
        var journey = await catalog.GetAsync(db, i.JourneyVersionId, cancellationToken);
        var stored = (await store.StepsAsync(i.Id, cancellationToken)).Select(s => new StepResponse(s.Seq, s.NodeId, s.Outcome, s.At, s.Detail)).ToList();
        List<StepResponse> steps = journey?.Start is { } start ? [.. EntrySteps.For(start, i.EnteredAt), .. stored] : stored;
        DateTime? due = i.DueAt is { } ms && ms < DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime
            : null;
        return new InstanceResponse(i.Id, i.JourneyId, journey?.Version.Version ?? 0, i.ProfileId, i.Status, i.NodeId, i.WaitingFor, due, i.IsTest, i.EnteredAt, i.EndedAt, i.EndReason, steps);
    }
}
