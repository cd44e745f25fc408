using JourneyWorker.Data;
using JourneyWorker.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Events;

/// <summary>An event configuration with its fields and condition already parsed.</summary>
public sealed record CachedEventConfig(EventConfig Config, IReadOnlyList<EventField> Fields, Expression? Condition);

/// <summary>
/// Event configurations change rarely and every intake request needs all of them: keep them parsed
/// in memory and reload only when the table's stamp (row count, latest update) moves. The stamp
/// is read from the database, so a change made by another process is seen on its next request.
/// </summary>
public sealed class EventConfigCache
{
    private volatile Snapshot? _snapshot;

    public async Task<IReadOnlyList<CachedEventConfig>> GetAsync(JourneyDbContext db, CancellationToken cancellationToken)
    {
        var count = await db.EventConfigs.CountAsync(cancellationToken);
        var latest = await db.EventConfigs.MaxAsync(c => (DateTime?)c.UpdatedAt, cancellationToken);
        var snapshot = _snapshot;
        if (snapshot is not null && snapshot.Count == count && snapshot.Latest == latest)
        {
            return snapshot.Configs;
        }

        var configs = await db.EventConfigs.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken);
        var parsed = configs.Select(c => new CachedEventConfig(
                c,
                EventFieldChecker.ParseFields(c.Fields),
                c.Condition is not null && ExpressionParser.TryParse(c.Condition, out var e, out _) ? e : null))
            .ToList();
        _snapshot = new Snapshot(count, latest, parsed);
        return parsed;
    }

    private sealed record Snapshot(int Count, DateTime? Latest, IReadOnlyList<CachedEventConfig> Configs);
}
