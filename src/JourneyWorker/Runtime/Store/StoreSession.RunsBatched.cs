using System.Data.Common;
using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>A batch of runs written with one statement per kind of row, where each statement would be a round trip.</summary>
public sealed partial class StoreSession
{
    /// <summary>
    /// The same writes as <see cref="WriteRunAsync"/> for every run at once, where each statement would be a round trip
    /// (<see cref="InstanceSql.BatchesStatements"/>), each kind of row as one statement over arrays (<see cref="InstanceSql.UpdateInstances"/>
    /// and its siblings): the instance updates (a run whose lease turned out lost writes nothing more); then in one round
    /// trip the steps, the outbox updates and the retired tokens; the new outbox rows (their ids come back with their
    /// Message-IDs); the links of the messages about to leave. Four round trips and about as many statements, whatever
    /// the batch's size, where one statement per row made the server parse, plan and run each row on its own.
    /// </summary>
    private async Task WriteRunsBatchedAsync(
        DbTransaction transaction, StoreTransaction? jumps, NodeCounterDeltas counters, List<(InstanceRun Run, bool Release)> runs, string owner, long leaseUntil,
        List<InstanceRun> written, CancellationToken cancellationToken)
    {
        if (runs.Count > 0)
        {
            await using var updates = StoreTransaction.Command(transaction, _sql.UpdateInstances!);
            var instances = runs.Select(r => r.Run.Instance).ToList();
            updates.AddParameter("@owner", owner);
            updates.AddParameter("@ids", instances.Select(i => i.Id).ToArray());
            updates.AddParameter("@statuses", instances.Select(i => i.Status).ToArray());
            updates.AddParameter("@nodes", instances.Select(i => i.NodeId).ToArray());
            updates.AddParameter("@dues", instances.Select(i => i.DueAt).ToArray());
            updates.AddParameter("@waitings", instances.Select(i => i.WaitingFor).ToArray());
            updates.AddParameter("@seqs", instances.Select(i => i.NextSeq).ToArray());
            updates.AddParameter("@endeds", instances.Select(i => i.EndedAt).ToArray());
            updates.AddParameter("@reasons", instances.Select(i => i.EndReason).ToArray());
            updates.AddParameter("@leaseOwners", runs.Select(r => r.Release ? null : owner).ToArray());
            updates.AddParameter("@leaseUntils", runs.Select(r => r.Release ? null : (long?)leaseUntil).ToArray());
            updates.AddParameter("@contexts", runs.Select(r => r.Run.ContextChanged ? r.Run.Instance.Context : null).ToArray());
            var kept = new HashSet<long>();
            await using (var reader = await updates.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    kept.Add(reader.GetInt64(0));
                }
            }
            foreach (var (run, _) in runs)
            {
                if (!kept.Contains(run.Instance.Id))
                {
                    run.Lost = true;
                    continue;
                }
                written.Add(run);
                counters.Move(run.Instance.JourneyVersionId, run.Counted, (run.Instance.Status, run.Instance.NodeId));
            }
        }
        foreach (var run in jumps is null ? [] : written.Where(r => r.Jumps.Count > 0))
        {
            await SettleJumpsAsync(jumps!, run, cancellationToken);
        }

        var steps = new List<InstanceStep>();
        var updated = new List<OutboxMessage>();
        var inserts = new List<OutboxMessage>();
        await using (var rows = StoreTransaction.CreateBatch(transaction, _sql)!)
        {
            foreach (var run in written)
            {
                foreach (var step in run.Unwritten)
                {
                    steps.Add(step);
                    counters.Step(run.Instance.JourneyVersionId, step.NodeId, step.Outcome);
                }
                foreach (var outbox in run.DirtyOutbox)
                {
                    (outbox.Id == 0 ? inserts : updated).Add(outbox);
                }
                foreach (var token in run.RetiredTokens)
                {
                    rows.Add(_sql.RetireToken, ("@id", token), ("@at", run.Now.UtcDateTime));
                }
            }
            if (steps.Count > 0)
            {
                rows.Add(_sql.InsertSteps!, ("@instances", steps.Select(s => s.InstanceId).ToArray()), ("@seqs", steps.Select(s => s.Seq).ToArray()),
                    ("@nodes", steps.Select(s => s.NodeId).ToArray()), ("@outcomes", steps.Select(s => s.Outcome).ToArray()),
                    ("@ats", steps.Select(s => s.At).ToArray()), ("@details", steps.Select(s => s.Detail).ToArray()));
            }
            if (updated.Count > 0)
            {
                rows.Add(_sql.UpdateOutboxes!, ("@ids", updated.Select(o => o.Id).ToArray()), ("@statuses", updated.Select(o => o.Status).ToArray()),
                    ("@attempts", updated.Select(o => o.Attempts).ToArray()), ("@errors", updated.Select(o => o.Error).ToArray()),
                    ("@sents", updated.Select(o => o.SentAt).ToArray()));
            }
            if (rows.BatchCommands.Count > 0)
            {
                await rows.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        if (inserts.Count > 0)
        {
            await InsertOutboxesAsync(transaction, inserts, cancellationToken);
        }

        var links = written.Select(r => r.PendingSend).OfType<PreparedSend>().Where(s => s.Html is not null)
            .SelectMany(s => s.Html!.Links.Select((url, index) => (Outbox: s.Outbox.Id, Index: index, Url: url))).ToList();
        if (links.Count > 0)
        {
            await using var command = StoreTransaction.Command(transaction, _sql.InsertLinks!);
            command.AddParameter("@outboxes", links.Select(l => l.Outbox).ToArray());
            command.AddParameter("@indexes", links.Select(l => l.Index).ToArray());
            command.AddParameter("@urls", links.Select(l => l.Url).ToArray());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The new outbox rows in one statement; each gets its id back by its Message-ID (unique).</summary>
    private async Task InsertOutboxesAsync(DbTransaction transaction, List<OutboxMessage> inserts, CancellationToken cancellationToken)
    {
        await using var command = StoreTransaction.Command(transaction, _sql.InsertOutboxes!);
        command.AddParameter("@instances", inserts.Select(o => o.InstanceId).ToArray());
        command.AddParameter("@profiles", inserts.Select(o => o.ProfileId).ToArray());
        command.AddParameter("@nodes", inserts.Select(o => o.NodeId).ToArray());
        command.AddParameter("@channels", inserts.Select(o => o.Channel).ToArray());
        command.AddParameter("@categories", inserts.Select(o => o.Category).ToArray());
        command.AddParameter("@messageIds", inserts.Select(o => o.MessageId).ToArray());
        command.AddParameter("@statuses", inserts.Select(o => o.Status).ToArray());
        command.AddParameter("@attempts", inserts.Select(o => o.Attempts).ToArray());
        command.AddParameter("@errors", inserts.Select(o => o.Error).ToArray());
        command.AddParameter("@created", inserts.Select(o => o.CreatedAt).ToArray());
        command.AddParameter("@sents", inserts.Select(o => o.SentAt).ToArray());
        var byMessageId = inserts.ToDictionary(o => o.MessageId, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            byMessageId.Remove(reader.GetString(1), out var outbox);
            outbox!.Id = reader.GetInt64(0);
        }
        if (byMessageId.Count > 0)
        {
            throw new InvalidOperationException("An outbox row was inserted without its id coming back.");
        }
    }
}
