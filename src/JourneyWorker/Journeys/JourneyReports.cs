using JourneyWorker.Data;
using JourneyWorker.Runtime;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>
/// Read side: per-node counts from the step history, instance counts by status, instance traces. The
/// entry steps are not stored (<see cref="EntrySteps"/>): they are counted and listed from the instances.
/// </summary>
public sealed class JourneyReports(JourneyDbContext db, JourneyCatalog catalog)
{
    public async Task<JourneyReport?> ReportAsync(Guid journeyId, CancellationToken cancellationToken)
    {
        if (!await db.Journeys.AnyAsync(j => j.Id == journeyId, cancellationToken))
        {
            return null;
        }

        var instances = db.JourneyInstances.Where(i => i.JourneyId == journeyId);
        var steps = await db.InstanceSteps
            .Where(s => instances.Any(i => i.Id == s.InstanceId))
            .GroupBy(s => new { s.NodeId, s.Outcome })
            .Select(g => new StepCount(g.Key.NodeId, g.Key.Outcome, g.Count()))
            .ToListAsync(cancellationToken);
        var byVersion = await instances.GroupBy(i => i.JourneyVersionId)
            .Select(g => new { g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        foreach (var version in byVersion)
        {
            if ((await catalog.GetAsync(db, version.Key, cancellationToken))?.Start?.Id is { } start)
            {
                steps.Add(new StepCount(start, StepOutcome.Entered, version.Count));
                steps.Add(new StepCount(start, StepOutcome.Succeeded, version.Count));
            }
        }
        var nodes = steps.GroupBy(s => s.NodeId).ToDictionary(
            g => g.Key,
            g =>
            {
                int Count(string outcome) => g.Where(s => s.Outcome == outcome).Sum(s => s.Count);
                return new NodeReport(Count(StepOutcome.Entered), Count(StepOutcome.Succeeded), Count(StepOutcome.Failed), Count(StepOutcome.TimedOut), Count(StepOutcome.Skipped));
            },
            StringComparer.Ordinal);

        var byStatus = await instances.GroupBy(i => i.Status).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken);
        int Status(string status) => byStatus.FirstOrDefault(s => s.Key == status)?.Count ?? 0;
        return new JourneyReport(nodes, new InstanceCounts(
            Status(InstanceStatus.Active), Status(InstanceStatus.Waiting), Status(InstanceStatus.Completed), Status(InstanceStatus.Failed), Status(InstanceStatus.Exited)));
    }

    public async Task<List<InstanceResponse>?> InstancesAsync(Guid journeyId, string? ns, string? identity, CancellationToken cancellationToken)
    {
        if (!await db.Journeys.AnyAsync(j => j.Id == journeyId, cancellationToken))
        {
            return null;
        }

        var query = db.JourneyInstances.AsNoTracking().Where(i => i.JourneyId == journeyId);
        if (ns is not null)
        {
            query = query.Where(i => db.ProfileIdentities.Any(p => p.ProfileId == i.ProfileId && p.Namespace == ns && p.Value == identity));
        }
        var list = await query.OrderBy(i => i.Id).Take(500).ToListAsync(cancellationToken);
        var result = new List<InstanceResponse>(list.Count);
        foreach (var instance in list)
        {
            result.Add(await ToResponseAsync(instance, cancellationToken));
        }
        return result;
    }

    public async Task<InstanceResponse?> InstanceAsync(long id, CancellationToken cancellationToken)
    {
        var instance = await db.JourneyInstances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == id, cancellationToken);
        return instance is null ? null : await ToResponseAsync(instance, cancellationToken);
    }

    private async Task<InstanceResponse> ToResponseAsync(JourneyInstance i, CancellationToken cancellationToken)
    {
        var journey = await catalog.GetAsync(db, i.JourneyVersionId, cancellationToken);
        var stored = await db.InstanceSteps.AsNoTracking().Where(s => s.InstanceId == i.Id).OrderBy(s => s.Seq)
            .Select(s => new StepResponse(s.Seq, s.NodeId, s.Outcome, s.At, s.Detail)).ToListAsync(cancellationToken);
        List<StepResponse> steps = journey?.Start is { } start ? [.. EntrySteps.For(start, i.EnteredAt), .. stored] : stored;
        DateTime? due = i.DueAt is { } ms && ms < DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime
            : null;
        return new InstanceResponse(i.Id, i.JourneyId, journey?.Version.Version ?? 0, i.ProfileId, i.Status, i.NodeId, i.WaitingFor, due, i.IsTest, i.EnteredAt, i.EndedAt, i.EndReason, steps);
    }

    private sealed record StepCount(string NodeId, string Outcome, int Count);
}
