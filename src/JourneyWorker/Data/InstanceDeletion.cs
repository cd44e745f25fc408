using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Data;

public static class InstanceDeletion
{
    /// <summary>
    /// Deletes instances with everything recorded under them (tracked links, reactions, outbox rows,
    /// step history), children first, set-based. The caller owns the transaction.
    /// </summary>
    public static async Task DeleteInstancesAsync(this JourneyDbContext db, IQueryable<JourneyInstance> instances, CancellationToken cancellationToken)
    {
        var ids = instances.Select(i => i.Id);
        var messages = db.OutboxMessages.Where(m => ids.Contains(m.InstanceId)).Select(m => m.Id);
        await db.TrackedLinks.Where(l => messages.Contains(l.OutboxMessageId)).ExecuteDeleteAsync(cancellationToken);
        await db.MessageReactions.Where(r => messages.Contains(r.OutboxMessageId)).ExecuteDeleteAsync(cancellationToken);
        await db.OutboxMessages.Where(m => ids.Contains(m.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.InstanceSteps.Where(s => ids.Contains(s.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await instances.ExecuteDeleteAsync(cancellationToken);
    }
}
