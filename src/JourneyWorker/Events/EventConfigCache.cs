using System.Data.Common;
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
public sealed class EventConfigCache(IServiceScopeFactory scopes)
{
    private volatile Snapshot? _snapshot;

    /// <summary>The configurations loaded last and the stamp they were loaded under, or null before the first load.</summary>
    public (string Stamp, IReadOnlyList<CachedEventConfig> Configs)? Current => _snapshot is { } s ? (s.Stamp, s.Configs) : null;

    /// <summary>One raw query per request: the stamp as text, compared as it is stored (or <paramref name="stamp"/>, read already).</summary>
    public async Task<IReadOnlyList<CachedEventConfig>> GetAsync(DbConnection connection, EventSql sql, CancellationToken cancellationToken, string? stamp = null)
    {
        if (stamp is null)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql.ConfigStamp;
            stamp = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        var snapshot = _snapshot;
        if (snapshot is not null && snapshot.Stamp == stamp)
        {
            return snapshot.Configs;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        var configs = await db.EventConfigs.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken);
        var parsed = configs.Select(c => new CachedEventConfig(
                c,
                EventFieldChecker.ParseFields(c.Fields),
                c.Condition is not null && ExpressionParser.TryParse(c.Condition, out var e, out _) ? e : null))
            .ToList();
        // The stamp read before the load: a change in between makes the next request reload again, never miss it.
        _snapshot = new Snapshot(stamp, parsed);
        return parsed;
    }

    private sealed record Snapshot(string Stamp, IReadOnlyList<CachedEventConfig> Configs);
}
