using System.Text.Json;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Dashboard;

/// <summary>A journey as the list shows it; <see cref="TestVersion"/> is its draft's number while that draft is in test mode.</summary>
public sealed record JourneyRow(Guid Id, string Name, string Status, int? LiveVersion, int Versions, int? TestVersion, IReadOnlyDictionary<string, int> Instances);

/// <summary>An audience with the number of profiles its rule matches now.</summary>
public sealed record AudienceRow(Guid Id, string Name, string Rule, int Count);

/// <summary>A received event, its payload cut short.</summary>
public sealed record EventRow(Guid Id, DateTime ReceivedAt, string Payload, IReadOnlyList<string> Matched, long? ProfileId, int Routed, string? Reason);

/// <summary>The dashboard's reads beyond what the journey services already answer.</summary>
public sealed class DashboardReads(JourneyDbContext db, InstanceStore store, TimeProvider time)
{
    public const int ListLimit = 1_000;
    public const int RecentEvents = 500;
    public const int PayloadChars = 400;

    public async Task<List<JourneyRow>> JourneysAsync(CancellationToken cancellationToken)
    {
        var journeys = await db.Journeys.AsNoTracking().OrderBy(j => j.CreatedAt).Take(ListLimit).ToListAsync(cancellationToken);
        var ids = journeys.Select(j => j.Id).ToList();
        var versions = (await db.JourneyVersions.AsNoTracking().Where(v => ids.Contains(v.JourneyId))
                .Select(v => new { v.Id, v.JourneyId, v.Version, v.Status, v.TestMode }).ToListAsync(cancellationToken))
            .ToLookup(v => v.JourneyId);
        var instances = await store.InstancesPerVersionAndStatusAsync(cancellationToken);
        return [.. journeys.Select(j =>
        {
            var own = versions[j.Id].OrderBy(v => v.Version).ToList();
            var live = own.LastOrDefault(v => v.Status == JourneyStatus.Live);
            var draft = own.LastOrDefault(v => v.Status == JourneyStatus.Draft);
            // The journey is live while a version is; otherwise it is as its newest version is.
            var status = live?.Status ?? own.LastOrDefault()?.Status ?? JourneyStatus.Draft;
            var counts = own.SelectMany(v => instances.GetValueOrDefault(v.Id) ?? [])
                .GroupBy(c => c.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(c => c.Value), StringComparer.Ordinal);
            return new JourneyRow(j.Id, j.Name, status, live?.Version, own.Count, draft is { TestMode: true } ? draft.Version : null, counts);
        })];
    }

    public async Task<List<AudienceRow>> AudiencesAsync(CancellationToken cancellationToken)
    {
        var audiences = await db.Audiences.AsNoTracking().OrderBy(a => a.Name).ThenBy(a => a.Id).Take(ListLimit).ToListAsync(cancellationToken);
        var now = time.GetUtcNow();
        var rows = new List<AudienceRow>(audiences.Count);
        foreach (var audience in audiences)
        {
            // The same count as GET /api/audiences/{id}/preview.
            rows.Add(new AudienceRow(audience.Id, audience.Name, audience.Rule, await AudienceQuery.CountAsync(db, audience.Rule, now, cancellationToken)));
        }
        return rows;
    }

    /// <summary>An identity of each profile (the one in <paramref name="preferred"/> namespace where it has one), for links to its instances.</summary>
    public async Task<Dictionary<long, string>> IdentitiesAsync(IEnumerable<long> profileIds, Func<long, string?> preferred, CancellationToken cancellationToken)
    {
        var ids = profileIds.Distinct().ToList();
        var identities = await db.ProfileIdentities.AsNoTracking().Where(i => ids.Contains(i.ProfileId)).ToListAsync(cancellationToken);
        return identities.GroupBy(i => i.ProfileId).ToDictionary(g => g.Key, g =>
        {
            var chosen = g.FirstOrDefault(i => i.Namespace == preferred(g.Key)) ?? g.OrderBy(i => i.Namespace, StringComparer.Ordinal).First();
            return $"{chosen.Namespace}:{chosen.Value}";
        });
    }

    /// <summary>The newest events received, whatever they matched; the payload only as far as the page shows it.</summary>
    public async Task<List<EventRow>> RecentEventsAsync(CancellationToken cancellationToken)
    {
        // Ids are version 7 GUIDs: in the order they were made, on both providers, so the key's index gives the newest.
        var rows = await db.StoredEvents.AsNoTracking().OrderByDescending(e => e.Id).Take(RecentEvents)
            .Select(e => new { e.Id, e.ReceivedAt, Payload = e.Payload.Substring(0, PayloadChars + 1), e.Matched, e.ProfileId, e.Routed, e.Reason })
            .ToListAsync(cancellationToken);
        return [.. rows.Select(e => new EventRow(e.Id, e.ReceivedAt,
            e.Payload.Length > PayloadChars ? e.Payload[..PayloadChars] + "…" : e.Payload,
            Names(e.Matched), e.ProfileId, e.Routed, e.Reason))];
    }

    private static List<string> Names(string matched)
    {
        try
        {
            return JsonSerializer.Deserialize<List<string>>(matched) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
