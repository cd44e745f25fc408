using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime;

/// <summary>
/// Writes the runs of a batch in one transaction with prepared raw SQL: each instance's state (only
/// while the lease is still ours — a run whose lease was lost writes nothing more), its new steps, its
/// outbox rows and the links of the messages about to leave.
/// </summary>
public sealed class InstanceBatchWriter(WriteGate writes)
{
    private const string UpdateInstanceSql = """
        UPDATE "JourneyInstances"
        SET "Status" = $status, "NodeId" = $node, "DueAt" = $due, "WaitingFor" = $waiting, "NextSeq" = $seq,
            "EndedAt" = $ended, "EndReason" = $reason, "LeaseOwner" = $leaseOwner, "LeaseUntil" = $leaseUntil
        WHERE "Id" = $id AND "LeaseOwner" = $owner
        """;

    /// <summary>One history step, as every raw-SQL writer of history stores it.</summary>
    public const string InsertStepSql = """
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail") VALUES ($instance, $seq, $node, $outcome, $at, $detail)
        """;

    private const string InsertOutboxSql = """
        INSERT INTO "OutboxMessages" ("InstanceId", "NodeId", "Channel", "MessageId", "Status", "Attempts", "Error", "CreatedAt", "SentAt")
        VALUES ($instance, $node, $channel, $messageId, $status, $attempts, $error, $created, $sent)
        RETURNING "Id"
        """;

    private const string UpdateOutboxSql = """
        UPDATE "OutboxMessages" SET "Status" = $status, "Attempts" = $attempts, "Error" = $error, "SentAt" = $sent WHERE "Id" = $id
        """;

    // A link recorded by an earlier attempt of the message stays as it was: its token is already out there.
    private const string InsertLinkSql = """
        INSERT OR IGNORE INTO "TrackedLinks" ("OutboxMessageId", "Index", "Url") VALUES ($outbox, $index, $url)
        """;

    private const string RetireTokenSql = """UPDATE "PushTokens" SET "RetiredAt" = $at WHERE "Id" = $id""";

    private const string ReactionSql = """
        SELECT EXISTS (
            SELECT 1 FROM "MessageReactions" r JOIN "OutboxMessages" m ON m."Id" = r."OutboxMessageId"
            WHERE m."InstanceId" = $instance AND m."NodeId" = $node AND r."Kind" = $kind)
        """;

    /// <summary>
    /// Writes the runs. A run with nothing left to send is done and gives its lease up; a run with a message
    /// about to leave keeps it (this write is that message's checkpoint). Runs whose lease turned out lost
    /// are marked <see cref="InstanceRun.Lost"/> and write nothing.
    /// </summary>
    public Task WriteAsync(JourneyDbContext db, IReadOnlyCollection<InstanceRun> runs, string owner, CancellationToken cancellationToken) =>
        writes.RunAsync(async () =>
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await db.Database.GetDbConnection().BeginTransactionAsync(cancellationToken);
            await using var commands = new Commands(transaction);
            var written = new List<InstanceRun>(runs.Count);
            foreach (var run in runs.Where(r => !r.Lost && !r.Released))
            {
                var release = run.PendingSend is null;
                if (release && run.ReactionCheck is { } node)
                {
                    await SettleReactionAsync(commands, run, node, cancellationToken);
                }
                if (await WriteRunAsync(commands, run, owner, release, cancellationToken))
                {
                    written.Add(run);
                }
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

    /// <summary>
    /// Inside the commit, so a reaction recorded meanwhile cannot slip between this check and the wait
    /// becoming visible: it either is seen here or finds the instance waiting and resumes it.
    /// </summary>
    private static async Task SettleReactionAsync(Commands c, InstanceRun run, NodeDefinition node, CancellationToken cancellationToken)
    {
        run.ReactionCheck = null;
        c.Reaction.Parameters["$instance"].Value = run.Instance.Id;
        c.Reaction.Parameters["$node"].Value = node.Action;
        c.Reaction.Parameters["$kind"].Value = node.Reaction;
        if (Convert.ToInt64(await c.Reaction.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 1)
        {
            run.Step(node.Id!, StepOutcome.Succeeded, $"{node.Reaction} had already happened.");
            run.ContinueLater(node.Next);
        }
    }

    private static async Task<bool> WriteRunAsync(Commands c, InstanceRun run, string owner, bool release, CancellationToken cancellationToken)
    {
        var i = run.Instance;
        var update = c.UpdateInstance.Parameters;
        update["$id"].Value = i.Id;
        update["$owner"].Value = owner;
        update["$status"].Value = i.Status;
        update["$node"].Value = (object?)i.NodeId ?? DBNull.Value;
        update["$due"].Value = (object?)i.DueAt ?? DBNull.Value;
        update["$waiting"].Value = (object?)i.WaitingFor ?? DBNull.Value;
        update["$seq"].Value = i.NextSeq;
        update["$ended"].Value = (object?)i.EndedAt ?? DBNull.Value;
        update["$reason"].Value = (object?)i.EndReason ?? DBNull.Value;
        update["$leaseOwner"].Value = release ? DBNull.Value : owner;
        update["$leaseUntil"].Value = release ? DBNull.Value : (object?)i.LeaseUntil ?? DBNull.Value;
        if (await c.UpdateInstance.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            run.Lost = true;
            return false;
        }

        foreach (var step in run.Unwritten)
        {
            var p = c.InsertStep.Parameters;
            p["$instance"].Value = step.InstanceId;
            p["$seq"].Value = step.Seq;
            p["$node"].Value = step.NodeId;
            p["$outcome"].Value = step.Outcome;
            p["$at"].Value = step.At;
            p["$detail"].Value = (object?)step.Detail ?? DBNull.Value;
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
                p["$outbox"].Value = send.Outbox.Id;
                p["$index"].Value = index;
                p["$url"].Value = body.Links[index];
                await c.InsertLink.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        foreach (var token in run.RetiredTokens)
        {
            c.RetireToken.Parameters["$id"].Value = token;
            c.RetireToken.Parameters["$at"].Value = run.Now.UtcDateTime;
            await c.RetireToken.ExecuteNonQueryAsync(cancellationToken);
        }
        return true;
    }

    private static async Task WriteOutboxAsync(Commands c, OutboxMessage outbox, CancellationToken cancellationToken)
    {
        var command = outbox.Id == 0 ? c.InsertOutbox : c.UpdateOutbox;
        var p = command.Parameters;
        p["$status"].Value = outbox.Status;
        p["$attempts"].Value = outbox.Attempts;
        p["$error"].Value = (object?)outbox.Error ?? DBNull.Value;
        p["$sent"].Value = (object?)outbox.SentAt ?? DBNull.Value;
        if (outbox.Id != 0)
        {
            p["$id"].Value = outbox.Id;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        p["$instance"].Value = outbox.InstanceId;
        p["$node"].Value = outbox.NodeId;
        p["$channel"].Value = outbox.Channel;
        p["$messageId"].Value = outbox.MessageId;
        p["$created"].Value = outbox.CreatedAt;
        outbox.Id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The batch's statements, each prepared once per transaction and reused for every row.</summary>
    private sealed class Commands(DbTransaction transaction) : IAsyncDisposable
    {
        public DbCommand UpdateInstance { get; } = Create(transaction, UpdateInstanceSql,
            "$id", "$owner", "$status", "$node", "$due", "$waiting", "$seq", "$ended", "$reason", "$leaseOwner", "$leaseUntil");
        public DbCommand InsertStep { get; } = Create(transaction, InsertStepSql, "$instance", "$seq", "$node", "$outcome", "$at", "$detail");
        public DbCommand InsertOutbox { get; } = Create(transaction, InsertOutboxSql,
            "$instance", "$node", "$channel", "$messageId", "$status", "$attempts", "$error", "$created", "$sent");
        public DbCommand UpdateOutbox { get; } = Create(transaction, UpdateOutboxSql, "$id", "$status", "$attempts", "$error", "$sent");
        public DbCommand InsertLink { get; } = Create(transaction, InsertLinkSql, "$outbox", "$index", "$url");
        public DbCommand RetireToken { get; } = Create(transaction, RetireTokenSql, "$id", "$at");
        public DbCommand Reaction { get; } = Create(transaction, ReactionSql, "$instance", "$node", "$kind");

        public async ValueTask DisposeAsync()
        {
            foreach (var command in new[] { UpdateInstance, InsertStep, InsertOutbox, UpdateOutbox, InsertLink, RetireToken, Reaction })
            {
                await command.DisposeAsync();
            }
        }

        private static DbCommand Create(DbTransaction transaction, string sql, params string[] parameters)
        {
            var command = transaction.Connection!.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.AddParameter(name, null);
            }
            return command;
        }
    }
}
