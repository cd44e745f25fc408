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
            if (caps is { Rules.Count: > 0 })
            {
                await CheckCapsAsync(transaction, runs, caps, cancellationToken);
            }
            await using var commands = new RunCommands(transaction, _sql);
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
                else if (await WriteRunAsync(commands, run, owner, release, leaseUntil, cancellationToken))
                {
                    written.Add(run);
                }
            }
            if (batched.Count > 0)
            {
                await WriteRunsBatchedAsync(transaction, batched, owner, leaseUntil, written, cancellationToken);
            }
            foreach (var run in written)
            {
                if (run.Instance.Status is not (InstanceStatus.Active or InstanceStatus.Waiting))
                {
                    (ended ??= []).Add(run.Instance.JourneyVersionId);
                }
            }
            var writing = runs.ToHashSet();
            await RenewLeasesAsync(transaction, [.. batch.Where(r => !r.Lost && !r.Released && !writing.Contains(r))], owner, leaseUntil, cancellationToken);
            // A run that goes on at once in a later claim (a reaction found at commit) is work any worker may take.
            if (_sql.NotifyDue is { } notify && written.Any(r => r.PendingSend is null && r.Instance.Status == InstanceStatus.Active && r.Instance.DueAt <= r.NowMs))
            {
                await using var command = StoreTransaction.Command(transaction, notify);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            if (ended is not null)
            {
                await StoreTransaction.FinishClosedVersionsAsync(transaction, _sql, ended, runs.First().Now.UtcDateTime, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            foreach (var run in written)
            {
                run.Written = run.NewSteps.Count;
                run.DirtyOutbox.Clear();
                run.RetiredTokens.Clear();
                run.Released = run.PendingSend is null;
            }
        }, cancellationToken);

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

    private static async Task<bool> WriteRunAsync(RunCommands c, InstanceRun run, string owner, bool release, long leaseUntil, CancellationToken cancellationToken)
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
        if (await c.UpdateInstance.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            run.Lost = true;
            return false;
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

    private static async Task WriteOutboxAsync(RunCommands c, OutboxMessage outbox, CancellationToken cancellationToken)
    {
        var command = outbox.Id == 0 ? c.InsertOutbox : c.UpdateOutbox;
        var p = command.Parameters;
        p["@status"].Value = outbox.Status;
        p["@attempts"].Value = outbox.Attempts;
        p["@error"].Value = (object?)outbox.Error ?? DBNull.Value;
        p["@sent"].Value = (object?)outbox.SentAt ?? DBNull.Value;
        if (outbox.Id != 0)
        {
            p["@id"].Value = outbox.Id;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        p["@instance"].Value = outbox.InstanceId;
        p["@profile"].Value = outbox.ProfileId;
        p["@node"].Value = outbox.NodeId;
        p["@channel"].Value = outbox.Channel;
        p["@category"].Value = outbox.Category;
        p["@messageId"].Value = outbox.MessageId;
        p["@created"].Value = outbox.CreatedAt;
        outbox.Id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>The batch's statements, each prepared once per transaction and reused for every row.</summary>
    private sealed class RunCommands(DbTransaction transaction, InstanceSql sql) : IAsyncDisposable
    {
        public DbCommand UpdateInstance { get; } = Create(transaction, sql.UpdateInstance,
            "@id", "@owner", "@status", "@node", "@due", "@waiting", "@seq", "@ended", "@reason", "@leaseOwner", "@leaseUntil");
        public DbCommand InsertStep { get; } = Create(transaction, sql.InsertStep, "@instance", "@seq", "@node", "@outcome", "@at", "@detail");
        public DbCommand InsertOutbox { get; } = Create(transaction, sql.InsertOutbox,
            "@instance", "@profile", "@node", "@channel", "@category", "@messageId", "@status", "@attempts", "@error", "@created", "@sent");
        public DbCommand UpdateOutbox { get; } = Create(transaction, sql.UpdateOutbox, "@id", "@status", "@attempts", "@error", "@sent");
        public DbCommand InsertLink { get; } = Create(transaction, sql.InsertLink, "@outbox", "@index", "@url");
        public DbCommand RetireToken { get; } = Create(transaction, sql.RetireToken, "@id", "@at");
        public DbCommand Reaction { get; } = Create(transaction, sql.ReactionExists, "@instance", "@node", "@kind");

        public async ValueTask DisposeAsync()
        {
            foreach (var command in new[] { UpdateInstance, InsertStep, InsertOutbox, UpdateOutbox, InsertLink, RetireToken, Reaction })
            {
                await command.DisposeAsync();
            }
        }

        private static DbCommand Create(DbTransaction transaction, string sql, params string[] parameters)
        {
            var command = StoreTransaction.Command(transaction, sql);
            foreach (var name in parameters)
            {
                command.AddParameter(name, null);
            }
            return command;
        }
    }
}
