using System.Data.Common;
using System.Globalization;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

public sealed partial class StoreSession
{
    /// <summary>
    /// Writes the runs of a batch in one transaction with prepared statements: each instance's state (only while
    /// the lease is still ours), its new steps, its outbox rows and the links of the message about to leave. A run
    /// with nothing left to send is done and gives its lease up; a run with a message about to leave keeps it until
    /// <paramref name="leaseUntil"/> (this write is that message's checkpoint). The other runs of
    /// <paramref name="batch"/> still held have their lease moved to <paramref name="leaseUntil"/> too, so a batch that
    /// makes progress keeps its claims however long it takes. A run whose lease turned out lost (taken over after it
    /// ran out) is marked <see cref="InstanceRun.Lost"/> and writes nothing. A closed version whose last instance ended
    /// here becomes finished in the same commit. The frequency rules of <paramref name="caps"/> are applied first (see
    /// <see cref="CheckCapsAsync"/>).
    /// </summary>
    public Task WriteRunsAsync(
        IReadOnlyCollection<InstanceRun> runs, IReadOnlyCollection<InstanceRun> batch, string owner, long leaseUntil, CapCheck? caps,
        CancellationToken cancellationToken) =>
        _gate.RunAsync(async () =>
        {
            await using var transaction = await Db.Database.GetDbConnection().BeginTransactionAsync(cancellationToken);
            await BeginProfileUpdatesAsync(transaction, runs, cancellationToken);
            if (caps is { Rules.Count: > 0 })
            {
                await CheckCapsAsync(transaction, runs, caps, cancellationToken);
            }
            await using var commands = new RunCommands(transaction, _sql);
            var counters = new NodeCounterDeltas();
            await LockWaitsAsync(transaction, runs, cancellationToken);
            await using var jumps = runs.Any(r => r.Jumps.Count > 0 && !r.Lost && !r.Released) ? await EnlistAsync(transaction, counters, cancellationToken) : null;
            var written = new List<InstanceRun>(runs.Count);
            var batched = new List<(InstanceRun Run, bool Release)>();
            HashSet<Guid>? ended = null;
            foreach (var run in runs.Where(r => !r.Lost && !r.Released))
            {
                var release = run.PendingSend is null;
                if (release && run.ReactionCheck is { } node)
                {
                    run.ReactionCheck = null;
                    await SettleReactionAsync(commands, run, node, cancellationToken);
                }
                if (_sql.BatchesStatements)
                {
                    batched.Add((run, release));
                }
                else if (await WriteRunAsync(commands, jumps?.Tx, counters, run, owner, release, leaseUntil, cancellationToken))
                {
                    written.Add(run);
                }
            }
            if (batched.Count > 0)
            {
                await WriteRunsBatchedAsync(transaction, jumps?.Tx, counters, batched, owner, leaseUntil, written, cancellationToken);
            }
            var qualified = await QualifyAsync(transaction, jumps, await WriteProfileUpdatesAsync(transaction, written, cancellationToken), counters, cancellationToken);
            foreach (var run in written)
            {
                if (run.Instance.Status is not (InstanceStatus.Active or InstanceStatus.Waiting))
                {
                    (ended ??= []).Add(run.Instance.JourneyVersionId);
                }
            }
            var writing = runs.ToHashSet();
            await RenewLeasesAsync(transaction, [.. batch.Where(r => !r.Lost && !r.Released && !writing.Contains(r))], owner, leaseUntil, cancellationToken);
            // A run that goes on at once in a later claim (a reaction found at commit) or a profile a jump or a
            // qualification admitted is work any worker may take.
            if (_sql.NotifyDue is { } notify
                && (qualified || jumps?.Tx.MadeWorkDue == true || written.Any(r => r.PendingSend is null && r.Instance.Status == InstanceStatus.Active && r.Instance.DueAt <= r.NowMs)))
            {
                await using var command = StoreTransaction.Command(transaction, notify);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            if (ended is not null)
            {
                await StoreTransaction.FinishClosedVersionsAsync(transaction, _sql, ended, runs.First().Now.UtcDateTime, cancellationToken);
            }
            await counters.ApplyAsync(transaction, _sql, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            foreach (var run in written)
            {
                run.Counted = (run.Instance.Status, run.Instance.NodeId);
                run.Written = run.NewSteps.Count;
                run.DirtyOutbox.Clear();
                run.RetiredTokens.Clear();
                run.ProfileUpdates.Clear();
                run.Jumps.Clear();
                run.ContextChanged = false;
                run.Released = run.PendingSend is null;
            }
        }, cancellationToken);

    /// <summary>
    /// Before anything is read or written: the profiles of runs about to wait for an event and the instances about to
    /// wait for a reaction, so that an event or reaction committed by another worker is either seen by this write or
    /// sees its wait (<see cref="StoreLocks"/>).
    /// </summary>
    private Task LockWaitsAsync(DbTransaction transaction, IReadOnlyCollection<InstanceRun> runs, CancellationToken cancellationToken)
    {
        if (_sql.LockWaits is null)
        {
            return Task.CompletedTask;
        }
        var writing = runs.Where(r => !r.Lost && !r.Released).ToList();
        List<long> profiles = [.. writing.Where(r => r.Instance.WaitingFor?.StartsWith(WaitKeys.EventPrefix, StringComparison.Ordinal) == true)
            .Select(r => r.Instance.ProfileId)];
        List<long> instances = [.. writing.Where(r => r.PendingSend is null && r.ReactionCheck is not null).Select(r => r.Instance.Id)];
        return StoreLocks.LockAsync(transaction, _sql, profiles, instances, cancellationToken);
    }

    /// <summary>The batch's other claims are kept; one that turns out taken over (it had run out) is lost to this batch.</summary>
    private async Task RenewLeasesAsync(DbTransaction transaction, List<InstanceRun> held, string owner, long leaseUntil, CancellationToken cancellationToken)
    {
        if (held.Count == 0)
        {
            return;
        }
        await using var command = StoreTransaction.Command(transaction, _sql.RenewLeases);
        command.AddParameter("@ids", _sql.Ids([.. held.Select(r => r.Instance.Id)]));
        command.AddParameter("@owner", owner);
        command.AddParameter("@until", leaseUntil);
        var renewed = new HashSet<long>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                renewed.Add(reader.GetInt64(0));
            }
        }
        foreach (var run in held.Where(r => !renewed.Contains(r.Instance.Id)))
        {
            run.Lost = true;
        }
    }

    /// <summary>
    /// Inside the commit, so a reaction recorded meanwhile cannot slip between this check and the wait becoming
    /// visible: it either is seen here or finds the instance waiting and resumes it.
    /// </summary>
    private static async Task SettleReactionAsync(RunCommands c, InstanceRun run, Journeys.Model.NodeDefinition node, CancellationToken cancellationToken)
    {
        c.Reaction.Parameters["@instance"].Value = run.Instance.Id;
        c.Reaction.Parameters["@node"].Value = node.Action;
        c.Reaction.Parameters["@kind"].Value = node.Reaction;
        if (Convert.ToInt64(await c.Reaction.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 1)
        {
            run.ReactionAlreadyCame(node);
        }
    }

    private async Task<bool> WriteRunAsync(
        RunCommands c, StoreTransaction? jumps, NodeCounterDeltas counters, InstanceRun run, string owner, bool release, long leaseUntil, CancellationToken cancellationToken)
    {
        var i = run.Instance;
        var update = c.UpdateInstance.Parameters;
        update["@id"].Value = i.Id;
        update["@owner"].Value = owner;
        update["@status"].Value = i.Status;
        update["@node"].Value = (object?)i.NodeId ?? DBNull.Value;
        update["@due"].Value = (object?)i.DueAt ?? DBNull.Value;
        update["@waiting"].Value = (object?)i.WaitingFor ?? DBNull.Value;
        update["@seq"].Value = i.NextSeq;
        update["@ended"].Value = (object?)i.EndedAt ?? DBNull.Value;
        update["@reason"].Value = (object?)i.EndReason ?? DBNull.Value;
        update["@leaseOwner"].Value = release ? DBNull.Value : owner;
        update["@leaseUntil"].Value = release ? DBNull.Value : leaseUntil;
        update["@context"].Value = run.ContextChanged ? i.Context : DBNull.Value;
        if (await c.UpdateInstance.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            run.Lost = true;
            return false;
        }
        counters.Move(i.JourneyVersionId, run.Counted, (i.Status, i.NodeId));
        if (jumps is not null && run.Jumps.Count > 0)
        {
            await SettleJumpsAsync(jumps, run, cancellationToken);
        }

        foreach (var step in run.Unwritten)
        {
            var p = c.InsertStep.Parameters;
            p["@instance"].Value = step.InstanceId;
            p["@seq"].Value = step.Seq;
            p["@node"].Value = step.NodeId;
            p["@outcome"].Value = step.Outcome;
            p["@at"].Value = step.At;
            p["@detail"].Value = (object?)step.Detail ?? DBNull.Value;
            await c.InsertStep.ExecuteNonQueryAsync(cancellationToken);
            counters.Step(i.JourneyVersionId, step.NodeId, step.Outcome);
        }

        foreach (var outbox in run.DirtyOutbox)
        {
            await WriteOutboxAsync(c, outbox, cancellationToken);
        }

        if (run.PendingSend is { Html: { } body } send)
        {
            for (var index = 0; index < body.Links.Count; index++)
            {
                var p = c.InsertLink.Parameters;
                p["@outbox"].Value = send.Outbox.Id;
                p["@index"].Value = index;
                p["@url"].Value = body.Links[index];
                await c.InsertLink.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        foreach (var token in run.RetiredTokens)
        {
            c.RetireToken.Parameters["@id"].Value = token;
            c.RetireToken.Parameters["@at"].Value = run.Now.UtcDateTime;
            await c.RetireToken.ExecuteNonQueryAsync(cancellationToken);
        }
        return true;
    }
}
