using System.Data.Common;
using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>A batch of runs written with batched statements, where each statement would be a round trip.</summary>
public sealed partial class StoreSession
{
    /// <summary>
    /// The same writes as <see cref="WriteRunAsync"/> for every run at once, where each statement would be a round trip
    /// (<see cref="InstanceSql.BatchesStatements"/>): one batch of the instance updates (a run whose lease turned out lost
    /// writes nothing more), one of the steps, outbox updates and retired tokens, one of the new outbox rows (their ids
    /// come back in order), one of the links of the messages about to leave. Four round trips instead of several per run.
    /// </summary>
    private async Task WriteRunsBatchedAsync(
        DbTransaction transaction, StoreTransaction? jumps, NodeCounterDeltas counters, List<(InstanceRun Run, bool Release)> runs, string owner, long leaseUntil,
        List<InstanceRun> written, CancellationToken cancellationToken)
    {
        await using (var updates = StoreTransaction.CreateBatch(transaction, _sql)!)
        {
            foreach (var (run, release) in runs)
            {
                var i = run.Instance;
                updates.Add(_sql.UpdateInstance,
                    ("@id", i.Id), ("@owner", owner), ("@status", i.Status), ("@node", i.NodeId), ("@due", i.DueAt), ("@waiting", i.WaitingFor),
                    ("@seq", i.NextSeq), ("@ended", i.EndedAt), ("@reason", i.EndReason),
                    ("@leaseOwner", release ? null : owner), ("@leaseUntil", release ? null : leaseUntil), ("@context", run.ContextChanged ? i.Context : null));
            }
            await updates.ExecuteNonQueryAsync(cancellationToken);
            for (var k = 0; k < runs.Count; k++)
            {
                if (updates.BatchCommands[k].RecordsAffected == 0)
                {
                    runs[k].Run.Lost = true;
                }
                else
                {
                    var run = runs[k].Run;
                    written.Add(run);
                    counters.Move(run.Instance.JourneyVersionId, run.Counted, (run.Instance.Status, run.Instance.NodeId));
                }
            }
        }
        foreach (var run in jumps is null ? [] : written.Where(r => r.Jumps.Count > 0))
        {
            await SettleJumpsAsync(jumps!, run, cancellationToken);
        }

        var inserts = new List<OutboxMessage>();
        await using (var rows = StoreTransaction.CreateBatch(transaction, _sql)!)
        {
            foreach (var run in written)
            {
                foreach (var step in run.Unwritten)
                {
                    rows.Add(_sql.InsertStep, ("@instance", step.InstanceId), ("@seq", step.Seq), ("@node", step.NodeId), ("@outcome", step.Outcome),
                        ("@at", step.At), ("@detail", step.Detail));
                    counters.Step(run.Instance.JourneyVersionId, step.NodeId, step.Outcome);
                }
                foreach (var outbox in run.DirtyOutbox)
                {
                    if (outbox.Id == 0)
                    {
                        inserts.Add(outbox);
                        continue;
                    }
                    rows.Add(_sql.UpdateOutbox, ("@id", outbox.Id), ("@status", outbox.Status), ("@attempts", outbox.Attempts), ("@error", outbox.Error),
                        ("@sent", outbox.SentAt));
                }
                foreach (var token in run.RetiredTokens)
                {
                    rows.Add(_sql.RetireToken, ("@id", token), ("@at", run.Now.UtcDateTime));
                }
            }
            if (rows.BatchCommands.Count > 0)
            {
                await rows.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        if (inserts.Count > 0)
        {
            await using var outboxes = StoreTransaction.CreateBatch(transaction, _sql)!;
            foreach (var outbox in inserts)
            {
                outboxes.Add(_sql.InsertOutbox, ("@instance", outbox.InstanceId), ("@profile", outbox.ProfileId), ("@node", outbox.NodeId),
                    ("@channel", outbox.Channel), ("@category", outbox.Category),
                    ("@messageId", outbox.MessageId), ("@status", outbox.Status), ("@attempts", outbox.Attempts), ("@error", outbox.Error),
                    ("@created", outbox.CreatedAt), ("@sent", outbox.SentAt));
            }
            await using var reader = await outboxes.ExecuteReaderAsync(cancellationToken);
            foreach (var outbox in inserts)
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    throw new InvalidOperationException("An outbox row was inserted without its id coming back.");
                }
                outbox.Id = reader.GetInt64(0);
                await reader.NextResultAsync(cancellationToken);
            }
        }

        await using var links = StoreTransaction.CreateBatch(transaction, _sql)!;
        foreach (var run in written)
        {
            if (run.PendingSend is { Html: { } body } send)
            {
                for (var index = 0; index < body.Links.Count; index++)
                {
                    links.Add(_sql.InsertLink, ("@outbox", send.Outbox.Id), ("@index", index), ("@url", body.Links[index]));
                }
            }
        }
        if (links.BatchCommands.Count > 0)
        {
            await links.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
