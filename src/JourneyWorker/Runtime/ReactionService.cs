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
public sealed class ReactionService(JourneyDbContext db, WaitResumer resumer, TimeProvider time)
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
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var inserted = await db.Database.ExecuteSqlAsync(
            $"""INSERT OR IGNORE INTO "MessageReactions" ("OutboxMessageId", "Kind", "At") VALUES ({message.Id}, {kind}, {now.UtcDateTime})""",
            cancellationToken);
        if (inserted == 0)
        {
            return ReactionResult.Repeated;
        }

        var profileId = await db.JourneyInstances.Where(i => i.Id == message.InstanceId).Select(i => (long?)i.ProfileId).FirstOrDefaultAsync(cancellationToken);
        if (profileId is { } id)
        {
            await resumer.ResumeAsync(db, id, InstanceRunner.ReactionWait(kind, message.NodeId), null, null, now,
                $"{kind} on {message.NodeId}", cancellationToken, message.InstanceId);
        }
        await transaction.CommitAsync(cancellationToken);
        return ReactionResult.Recorded;
    }
}
