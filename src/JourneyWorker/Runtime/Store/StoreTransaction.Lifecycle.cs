using System.Data.Common;
using System.Linq.Expressions;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

/// <summary>The ends of instances: exits (a whole version, or one instance), deletions, and the versions they finish.</summary>
public sealed partial class StoreTransaction
{
    /// <summary>Ends every running instance of the given versions now, recording why in each history.</summary>
    public async Task ExitVersionsAsync(IEnumerable<Guid> versionIds, string reason, string detail, DateTime now, CancellationToken cancellationToken)
    {
        foreach (var versionId in versionIds)
        {
            await ExitAsync(sql.LockExitInstances, sql.ExitSteps, sql.ExitInstances, sql.ExitInstancesCounts, "@version", sql.Guid(versionId), versionId,
                reason, detail, now, cancellationToken);
        }
    }

    /// <summary>
    /// Ends the running instances the key selects: first their exited steps (at each one's next seq), then their state.
    /// Returns how many ended.
    /// </summary>
    private async Task<int> ExitAsync(
        string? lockRows, string steps, string exit, string? counts, string keyName, object key, Guid version, string reason, string detail, DateTime now,
        CancellationToken cancellationToken)
    {
        if (lockRows is not null)
        {
            await using var locks = Command(lockRows);
            InstanceStore.AddRunning(locks);
            locks.AddParameter(keyName, key);
            await locks.ExecuteScalarAsync(cancellationToken);
        }
        await using (var step = Command(steps))
        {
            InstanceStore.AddRunning(step);
            step.AddParameter(keyName, key);
            step.AddParameter("@outcome", StepOutcome.Exited);
            step.AddParameter("@at", now);
            step.AddParameter("@detail", detail);
            await using var nodes = await step.ExecuteReaderAsync(cancellationToken);
            while (await nodes.ReadAsync(cancellationToken))
            {
                Counters.Step(version, nodes.GetString(0), StepOutcome.Exited);
            }
        }
        var ended = new List<(string? Node, string Was, long Count)>();
        if (counts is not null)
        {
            await using var read = Command(counts);
            InstanceStore.AddRunning(read);
            read.AddParameter(keyName, key);
            await ReadEndedAsync(read, ended, cancellationToken);
        }
        await using var command = Command(exit);
        InstanceStore.AddRunning(command);
        command.AddParameter(keyName, key);
        command.AddParameter("@exited", InstanceStatus.Exited);
        command.AddParameter("@reason", reason);
        command.AddParameter("@at", now);
        int exited;
        if (counts is not null)
        {
            exited = await command.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            await ReadEndedAsync(command, ended, cancellationToken);
            exited = ended.Count;
        }
        foreach (var (node, was, count) in ended)
        {
            Counters.Move(version, (was, node), (InstanceStatus.Exited, node), count);
        }
        return exited;
    }

    /// <summary>Rows of (node, status it had, how many) of instances an exit ends.</summary>
    private static async Task ReadEndedAsync(DbCommand command, List<(string?, string, long)> ended, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ended.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }
    }

    /// <summary>
    /// Deletes the matching instances with everything recorded under them (tracked links, reactions, outbox rows,
    /// step history), children first, set-based; a closed version whose last instance went with them is finished.
    /// </summary>
    public async Task DeleteInstancesAsync(Expression<Func<JourneyInstance, bool>> which, DateTime now, CancellationToken cancellationToken)
    {
        var instances = db.JourneyInstances.Where(which);
        var versions = await instances.Select(i => i.JourneyVersionId).Distinct().ToListAsync(cancellationToken);
        var ids = instances.Select(i => i.Id);
        await UncountAsync(instances, cancellationToken);
        var messages = db.OutboxMessages.Where(m => ids.Contains(m.InstanceId)).Select(m => m.Id);
        await db.TrackedLinks.Where(l => messages.Contains(l.OutboxMessageId)).ExecuteDeleteAsync(cancellationToken);
        await db.MessageReactions.Where(r => messages.Contains(r.OutboxMessageId)).ExecuteDeleteAsync(cancellationToken);
        await db.OutboxMessages.Where(m => ids.Contains(m.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.InstanceSteps.Where(s => ids.Contains(s.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.Conversions.Where(c => ids.Contains(c.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await instances.ExecuteDeleteAsync(cancellationToken);
        await FinishClosedVersionsAsync(transaction, sql, versions, now, cancellationToken);
    }

    /// <summary>Takes the instances about to be deleted out of the report's counters: their states, stored steps and conversions.</summary>
    private async Task UncountAsync(IQueryable<JourneyInstance> instances, CancellationToken cancellationToken)
    {
        foreach (var cell in await instances.GroupBy(i => new { i.JourneyVersionId, i.NodeId, i.Status })
                     .Select(g => new { g.Key.JourneyVersionId, g.Key.NodeId, g.Key.Status, Count = g.LongCount() }).ToListAsync(cancellationToken))
        {
            Counters.Instances(cell.JourneyVersionId, cell.NodeId, cell.Status, -cell.Count);
        }
        foreach (var step in await db.InstanceSteps.Join(instances, s => s.InstanceId, i => i.Id, (s, i) => new { i.JourneyVersionId, s.NodeId, s.Outcome })
                     .GroupBy(s => new { s.JourneyVersionId, s.NodeId, s.Outcome })
                     .Select(g => new { g.Key.JourneyVersionId, g.Key.NodeId, g.Key.Outcome, Count = g.LongCount() }).ToListAsync(cancellationToken))
        {
            Counters.Step(step.JourneyVersionId, step.NodeId, step.Outcome, -step.Count);
        }
        var ids = instances.Select(i => i.Id);
        foreach (var conversion in await db.Conversions.Where(c => ids.Contains(c.InstanceId))
                     .GroupBy(c => new { c.JourneyVersionId, c.NodeId })
                     .Select(g => new { g.Key.JourneyVersionId, g.Key.NodeId, Count = g.LongCount() }).ToListAsync(cancellationToken))
        {
            Counters.Conversion(conversion.JourneyVersionId, conversion.NodeId, -conversion.Count);
        }
    }

    /// <summary>Marks finished those of the versions that are closed and have no running instance left.</summary>
    public Task FinishClosedVersionsAsync(IEnumerable<Guid> versionIds, DateTime now, CancellationToken cancellationToken) =>
        FinishClosedVersionsAsync(transaction, sql, versionIds, now, cancellationToken);

    internal static async Task FinishClosedVersionsAsync(
        DbTransaction transaction, InstanceSql sql, IEnumerable<Guid> versionIds, DateTime now, CancellationToken cancellationToken)
    {
        foreach (var versionId in versionIds)
        {
            await using var command = Command(transaction, sql.FinishVersion);
            InstanceStore.AddRunning(command);
            command.AddParameter("@version", sql.Guid(versionId));
            command.AddParameter("@finished", JourneyStatus.Finished);
            command.AddParameter("@closed", JourneyStatus.Closed);
            command.AddParameter("@at", now);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
