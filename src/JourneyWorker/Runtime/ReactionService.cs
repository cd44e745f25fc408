using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime;

public enum ReactionResult
{
    UnknownMessage,
    Repeated,
    Recorded,
}

/// <summary>
/// The engine's entry point for reactions to sent messages (opens, clicks, push opens). The first
/// reaction of a kind counts and resumes an instance waiting for it; a repeat is acknowledged and
/// changes nothing; one after the timeout is recorded but moves nothing.
/// </summary>
public sealed class ReactionService(JourneyDbContext db, WaitResumer resumer, WriteGate writes, TimeProvider time)
{
    public async Task<ReactionResult> RecordAsync(long outboxMessageId, string kind, CancellationToken cancellationToken)
    {
        var message = await db.OutboxMessages.AsNoTracking()
            .Where(m => m.Id == outboxMessageId)
            .Select(m => new { m.Id, m.InstanceId, m.NodeId })
            .FirstOrDefaultAsync(cancellationToken);
        if (message is null)
        {
            return ReactionResult.UnknownMessage;
        }

        var now = time.GetUtcNow();
        return await writes.RunAsync(() => RecordAsync(message.Id, message.InstanceId, message.NodeId, kind, now, cancellationToken), cancellationToken);
    }

    private async Task<ReactionResult> RecordAsync(long messageId, long instanceId, string nodeId, string kind, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var inserted = await db.Database.ExecuteSqlAsync(
            $"""INSERT OR IGNORE INTO "MessageReactions" ("OutboxMessageId", "Kind", "At") VALUES ({messageId}, {kind}, {now.UtcDateTime})""",
            cancellationToken);
        if (inserted == 0)
        {
            return ReactionResult.Repeated;
        }

        var profileId = await db.JourneyInstances.Where(i => i.Id == instanceId).Select(i => (long?)i.ProfileId).FirstOrDefaultAsync(cancellationToken);
        if (profileId is { } id)
        {
            await resumer.ResumeAsync(db, id, InstanceRunner.ReactionWait(kind, nodeId), null, null, now,
                $"{kind} on {nodeId}", cancellationToken, instanceId);
        }
        await transaction.CommitAsync(cancellationToken);
        return ReactionResult.Recorded;
    }
}
