using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Events;

/// <summary>An event configuration with its fields and condition already parsed.</summary>
public sealed record CachedEventConfig(EventConfig Config, IReadOnlyList<EventField> Fields, Expression? Condition);

/// <summary>The configurations as loaded under one stamp of their table.</summary>
public sealed record ConfigSnapshot(string Stamp, IReadOnlyList<CachedEventConfig> Configs);

/// <summary>
/// Event configurations change rarely and every intake request needs all of them: keep them parsed in memory. Requests
/// read <see cref="Current"/> only; the intake writer reads the table's stamp (row count, latest update) once per group
/// commit, inside its transaction, and reloads when it moved, so a change made by another process is seen by the next
/// batch and events checked under the old configurations are checked again before they are stored.
/// </summary>
public sealed class EventConfigCache(IServiceScopeFactory scopes, EventSql sql)
{
    private volatile ConfigSnapshot? _snapshot;

    /// <summary>The configurations loaded last, or null before the first load.</summary>
    public ConfigSnapshot? Current => _snapshot;

    /// <summary>Loads them on a connection of its own (the first request after start).</summary>
    public async Task<ConfigSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        return await FreshAsync(db, command, cancellationToken);
    }

    /// <summary>
    /// The configurations as of <paramref name="command"/>'s transaction: the stamp read through it, the rows reloaded
    /// through <paramref name="db"/> (enlisted in the same transaction) only when the stamp moved.
    /// </summary>
    public async Task<ConfigSnapshot> FreshAsync(JourneyDbContext db, DbCommand command, CancellationToken cancellationToken)
    {
        command.CommandText = sql.ConfigStamp;
        var stamp = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        return await AtStampAsync(db, stamp, cancellationToken);
    }

    /// <summary>The configurations as of <paramref name="stamp"/>, read in <paramref name="db"/>'s transaction: reloaded only when it moved.</summary>
    public async Task<ConfigSnapshot> AtStampAsync(JourneyDbContext db, string stamp, CancellationToken cancellationToken)
    {
        if (_snapshot is { } snapshot && snapshot.Stamp == stamp)
        {
            return snapshot;
        }

        var configs = await db.EventConfigs.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken);
        var parsed = configs.Select(c => new CachedEventConfig(
                c,
                EventFieldChecker.ParseFields(c.Fields),
                c.Condition is not null && ExpressionParser.TryParse(c.Condition, out var e, out _) ? e : null))
            .ToList();
        // The stamp read before the load: a change in between makes the next batch reload again, never miss it.
        var loaded = new ConfigSnapshot(stamp, parsed);
        _snapshot = loaded;
        return loaded;
    }
}
