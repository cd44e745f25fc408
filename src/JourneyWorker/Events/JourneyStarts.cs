using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Events;

/// <summary>A journey version whose entry is an event; <see cref="TestOnly"/> for a draft in test mode.</summary>
public sealed record EventStart(string EventName, CompiledJourney Journey, bool TestOnly);

/// <summary>
/// A journey-level criterion an event meets: an exit (ends a running instance of the profile) or the goal (a conversion
/// when the event comes within <see cref="Within"/> of entry; <see cref="Exits"/> ends a running instance too).
/// <see cref="When"/> is a condition on the event's payload.
/// </summary>
public sealed record EventCriterion(string EventName, CompiledJourney Journey, Expression? When, bool IsGoal, TimeSpan Within, bool Exits)
{
    /// <summary>How the criterion is named in an instance's end reason and history.</summary>
    public string Name => IsGoal ? $"goal:{EventName}" : $"exit:{EventName}";
}

/// <summary>What events do to journeys: the versions they start, and the criteria (exits, goals) of versions that can have instances.</summary>
public sealed record JourneyRoutes(ILookup<string, EventStart> Starts, ILookup<string, EventCriterion> Criteria);

/// <summary>
/// A journey version whose entry is an audience qualification: profiles enter when they start matching the audience
/// (<see cref="OnExit"/> false) or stop matching it (true); <see cref="TestOnly"/> for a draft in test mode.
/// </summary>
public sealed record QualificationStart(Guid AudienceId, bool OnExit, CompiledJourney Journey, bool TestOnly);

/// <summary>
/// Which journeys start with which event or audience qualification, and which versions have an exit or goal on an event.
/// Read once per group commit or profile write, not per event or profile: one small query lists the versions that can admit or still run (live, closed, drafts in test mode)
/// with their update stamps, and the lookups are rebuilt only when that list changes (publish, close, stop, test mode
/// on or off, a draft edited).
/// </summary>
public sealed class JourneyStarts(JourneyCatalog catalog)
{
    private volatile Snapshot? _snapshot;

    public async Task<JourneyRoutes> GetAsync(StoreTransaction tx, EventSql sql, CancellationToken cancellationToken) =>
        (await SnapshotAsync(tx, sql, cancellationToken)).Routes;

    /// <summary>The routes as of <paramref name="stamp"/> (<see cref="EventSql.StartsStamp"/>, read by the caller in <paramref name="tx"/>).</summary>
    public async Task<JourneyRoutes> AtStampAsync(StoreTransaction tx, string stamp, CancellationToken cancellationToken) =>
        (await AtStampCoreAsync(tx, stamp, cancellationToken)).Routes;

    /// <summary>Adds <see cref="EventSql.StartsStamp"/> with its parameters to a batch, for <see cref="AtStampAsync"/>.</summary>
    public static void AddStamp(System.Data.Common.DbBatch batch, EventSql sql) =>
        batch.Add(sql.StartsStamp, ("@live", JourneyStatus.Live), ("@closed", JourneyStatus.Closed), ("@draft", JourneyStatus.Draft));

    /// <summary>The qualification entries of live and test-mode versions by audience: its keys are the audiences whose membership is tracked.</summary>
    public async Task<ILookup<Guid, QualificationStart>> QualificationsAsync(StoreTransaction tx, EventSql sql, CancellationToken cancellationToken) =>
        (await SnapshotAsync(tx, sql, cancellationToken)).Qualifications;

    /// <summary>Raw: it runs once per group commit. Status and test mode decide membership, UpdatedAt moves on every change of a version.</summary>
    private async Task<Snapshot> SnapshotAsync(StoreTransaction tx, EventSql sql, CancellationToken cancellationToken)
    {
        string stamp;
        await using (var command = tx.Command(sql.StartsStamp))
        {
            command.AddParameter("@live", JourneyStatus.Live);
            command.AddParameter("@closed", JourneyStatus.Closed);
            command.AddParameter("@draft", JourneyStatus.Draft);
            stamp = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        return await AtStampCoreAsync(tx, stamp, cancellationToken);
    }

    private async Task<Snapshot> AtStampCoreAsync(StoreTransaction tx, string stamp, CancellationToken cancellationToken)
    {
        var db = tx.Db;
        if (_snapshot is { } snapshot && snapshot.Stamp == stamp)
        {
            return snapshot;
        }

        var versions = await db.JourneyVersions.AsNoTracking()
            .Where(v => v.Status == JourneyStatus.Live || v.Status == JourneyStatus.Closed || (v.Status == JourneyStatus.Draft && v.TestMode))
            .Select(v => new { v.Id, v.Status })
            .ToListAsync(cancellationToken);
        var starts = new List<EventStart>();
        var criteria = new List<EventCriterion>();
        var qualifications = new List<QualificationStart>();
        foreach (var version in versions)
        {
            if (await catalog.GetAsync(db, version.Id, cancellationToken) is not { } journey)
            {
                continue;
            }
            var testOnly = version.Status == JourneyStatus.Draft;
            if (version.Status != JourneyStatus.Closed && journey.Start is { Type: NodeTypes.Event, Event: { } name })
            {
                starts.Add(new EventStart(name, journey, testOnly));
            }
            if (version.Status != JourneyStatus.Closed
                && journey.Start is { Type: NodeTypes.AudienceQualification, Audience: { } audience, On: { } on }
                && Guid.TryParse(audience, out var audienceId) && NodeTypes.QualificationOn.Contains(on))
            {
                qualifications.Add(new QualificationStart(audienceId, on == NodeTypes.OnExit, journey, testOnly));
            }
            criteria.AddRange(CriteriaOf(journey));
        }
        var routes = new JourneyRoutes(starts.ToLookup(s => s.EventName, StringComparer.Ordinal), criteria.ToLookup(c => c.EventName, StringComparer.Ordinal));
        var fresh = new Snapshot(stamp, routes, qualifications.ToLookup(q => q.AudienceId));
        _snapshot = fresh;
        return fresh;
    }

    private static IEnumerable<EventCriterion> CriteriaOf(CompiledJourney journey)
    {
        foreach (var exit in journey.Definition.Exit ?? [])
        {
            if (exit?.Event is { } name)
            {
                yield return new EventCriterion(name, journey, Parse(exit.When), IsGoal: false, TimeSpan.Zero, Exits: true);
            }
        }
        if (journey.Definition.Goal is { Event: { } goal } definition && IsoDuration.TryParse(definition.Within, out var within))
        {
            yield return new EventCriterion(goal, journey, Parse(definition.When), IsGoal: true, within, Exits: definition.Exit ?? false);
        }
    }

    private static Expression? Parse(string? when) => when is not null && ExpressionParser.TryParse(when, out var e, out _) ? e : null;

    private sealed record Snapshot(string Stamp, JourneyRoutes Routes, ILookup<Guid, QualificationStart> Qualifications);
}
