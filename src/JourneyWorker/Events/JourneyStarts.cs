using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Events;

/// <summary>A journey version whose entry is an event; <see cref="TestOnly"/> for a draft in test mode.</summary>
public sealed record EventStart(string EventName, CompiledJourney Journey, bool TestOnly);

/// <summary>
/// Which journeys start with which event. Read once per group commit, not per event: one small query
/// lists the live versions and the drafts in test mode with their update stamps, and the lookup is
/// rebuilt only when that list changes (publish, stop, test mode on or off, a draft edited).
/// </summary>
public sealed class JourneyStarts(JourneyCatalog catalog)
{
    private volatile Snapshot? _snapshot;

    /// <summary>Raw: it runs once per group commit. Status and test mode decide membership, UpdatedAt moves on every change of a version.</summary>
    public async Task<ILookup<string, EventStart>> GetAsync(StoreTransaction tx, EventSql sql, CancellationToken cancellationToken)
    {
        string stamp;
        await using (var command = tx.Command(sql.StartsStamp))
        {
            command.AddParameter("@live", JourneyStatus.Live);
            command.AddParameter("@draft", JourneyStatus.Draft);
            stamp = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        var db = tx.Db;
        if (_snapshot is { } snapshot && snapshot.Stamp == stamp)
        {
            return snapshot.Starts;
        }

        var versions = await db.JourneyVersions.AsNoTracking()
            .Where(v => v.Status == JourneyStatus.Live || (v.Status == JourneyStatus.Draft && v.TestMode))
            .Select(v => new { v.Id, v.Status })
            .ToListAsync(cancellationToken);
        var starts = new List<EventStart>();
        foreach (var version in versions)
        {
            if (await catalog.GetAsync(db, version.Id, cancellationToken) is { Start: { Type: NodeTypes.Event, Event: { } name } } journey)
            {
                starts.Add(new EventStart(name, journey, version.Status == JourneyStatus.Draft));
            }
        }
        var lookup = starts.ToLookup(s => s.EventName, StringComparer.Ordinal);
        _snapshot = new Snapshot(stamp, lookup);
        return lookup;
    }

    private sealed record Snapshot(string Stamp, ILookup<string, EventStart> Starts);
}
