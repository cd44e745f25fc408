using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>
/// Read side: per-node counts from the step history, instance counts by status, instance traces. The
/// entry steps are not stored (<see cref="EntrySteps"/>): they are counted and listed from the instances.
/// </summary>
public sealed class JourneyReports(JourneyDbContext db, JourneyCatalog catalog, InstanceStore store)
{
    public async Task<JourneyReport?> ReportAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        if (!await db.Journeys.AnyAsync(j => j.Id == journeyId, cancellationToken))
        {
            return null;
        }

        var steps = await store.StepCountsAsync(journeyId, cancellationToken);
        // Each version compiled once: its nodes are listed (newest version first), its start node counts its entries.
        var versions = new Dictionary<Guid, CompiledJourney>();
        var nodeIds = new List<string>();
        foreach (var version in await db.JourneyVersions.AsNoTracking().Where(v => v.JourneyId == journeyId).OrderByDescending(v => v.Version)
                     .Select(v => v.Id).ToListAsync(cancellationToken))
        {
            if (await catalog.GetAsync(db, version, cancellationToken) is { } journey)
            {
                versions[version] = journey;
                nodeIds.AddRange((journey.Definition.Nodes ?? []).Select(n => n.Id).OfType<string>());
            }
        }
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
        // Bounces and complaints are reactions on the node's messages; a message counts once for each.
        var feedback = await store.ReactionCountsAsync(journeyId, [FeedbackReactions.Bounced, FeedbackReactions.Complained], cancellationToken);
        var byNode = steps.Concat(feedback).ToLookup(s => s.NodeId, StringComparer.Ordinal);
        var nodes = new Dictionary<string, NodeReport>(StringComparer.Ordinal);
        // The newest version's nodes first, then any node only older versions had or that only history names.
        foreach (var id in nodeIds.Concat(steps.Select(s => s.NodeId)).Concat(waiting.Keys).Distinct(StringComparer.Ordinal))
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
