using JourneyWorker.Runtime.Store;

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
public sealed class ReactionService(InstanceStore store, TimeProvider time)
{
    public async Task<ReactionResult> RecordAsync(long outboxMessageId, string kind, CancellationToken cancellationToken)
    {
        if (await store.MessageOwnerAsync(outboxMessageId, cancellationToken) is not { } message)
        {
            return ReactionResult.UnknownMessage;
        }

        var now = time.GetUtcNow();
        // The tracking request's trace (a pixel fetched, a link followed) is the one the resumed instance goes on in.
        var traceParent = Infrastructure.JourneyTelemetry.CurrentTraceParent();
        return await store.WriteAsync(async tx =>
        {
            if (!await tx.InsertReactionAsync(outboxMessageId, kind, now, cancellationToken))
            {
                return ReactionResult.Repeated;
            }
            var waitingFor = WaitKeys.Reaction(kind, message.NodeId);
            var waiting = await tx.FindWaitingAsync(message.InstanceId, waitingFor, cancellationToken);
            await tx.ResumeAsync(waiting, waitingFor, null, null, now, $"{kind} on {message.NodeId}", traceParent, cancellationToken);
            return ReactionResult.Recorded;
        }, cancellationToken);
    }
}
