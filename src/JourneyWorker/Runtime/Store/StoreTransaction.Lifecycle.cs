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
            await ExitAsync(sql.ExitSteps, sql.ExitInstances, "@version", sql.Guid(versionId), reason, detail, now, cancellationToken);
        }
    }

    /// <summary>
    /// Ends the running instances the key selects: first their exited steps (at each one's next seq), then their state.
    /// Returns how many ended.
    /// </summary>
    private async Task<int> ExitAsync(
        string steps, string exit, string keyName, object key, string reason, string detail, DateTime now, CancellationToken cancellationToken)
    {
        await using (var step = Command(steps))
        {
            InstanceStore.AddRunning(step);
            step.AddParameter(keyName, key);
            step.AddParameter("@outcome", StepOutcome.Exited);
            step.AddParameter("@at", now);
            step.AddParameter("@detail", detail);
            await step.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var command = Command(exit);
        InstanceStore.AddRunning(command);
        command.AddParameter(keyName, key);
        command.AddParameter("@exited", InstanceStatus.Exited);
        command.AddParameter("@reason", reason);
        command.AddParameter("@at", now);
        return await command.ExecuteNonQueryAsync(cancellationToken);
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
        var messages = db.OutboxMessages.Where(m => ids.Contains(m.InstanceId)).Select(m => m.Id);
        await db.TrackedLinks.Where(l => messages.Contains(l.OutboxMessageId)).ExecuteDeleteAsync(cancellationToken);
        await db.MessageReactions.Where(r => messages.Contains(r.OutboxMessageId)).ExecuteDeleteAsync(cancellationToken);
        await db.OutboxMessages.Where(m => ids.Contains(m.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.InstanceSteps.Where(s => ids.Contains(s.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.Conversions.Where(c => ids.Contains(c.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await instances.ExecuteDeleteAsync(cancellationToken);
        await FinishClosedVersionsAsync(transaction, sql, versions, now, cancellationToken);
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
