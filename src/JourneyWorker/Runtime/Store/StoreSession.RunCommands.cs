using System.Data.Common;
using System.Globalization;
using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>The runner's prepared statements and the outbox write of the one-statement-at-a-time path (see WriteRunsAsync).</summary>
public sealed partial class StoreSession
{
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
            "@id", "@owner", "@status", "@node", "@due", "@waiting", "@seq", "@ended", "@reason", "@leaseOwner", "@leaseUntil", "@context");
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
