using System.Data.Common;
using System.Globalization;
using System.Linq.Expressions;
using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

/// <summary>An instance waiting for something, as a resume needs it.</summary>
public sealed record WaitingInstance(long Id, long ProfileId, string WaitingFor, Guid JourneyVersionId, string? NodeId);

/// <summary>
/// One open write transaction of the store (see InstanceStore.WriteAsync): the instance
/// writes that other features make as part of their own unit of work — an event's group commit, a
/// reaction, a chunk of Read Audience, a journey stopped, a profile forgotten.
/// </summary>
public sealed partial class StoreTransaction(
    JourneyDbContext db, DbTransaction transaction, JourneyCatalog catalog, InstanceSql sql, NodeCounterDeltas? counters = null)
{
    /// <summary>What this transaction changes in the report's counters, applied by whoever commits it.</summary>
    internal NodeCounterDeltas Counters { get; } = counters ?? new();

    /// <summary>
    /// Whether this transaction made work due now (an admission, a resume): only then is NOTIFY sent with its commit
    /// (PostgreSQL), so that an intake batch that routed nothing does not make every worker poll.
    /// </summary>
    public bool MadeWorkDue { get; private set; }

    /// <summary>What every commit of a store transaction sends last: the report's counters, and NOTIFY when work was made due.</summary>
    internal async Task BeforeCommitAsync(CancellationToken cancellationToken)
    {
        await Counters.ApplyAsync(transaction, sql, cancellationToken);
        if (sql.NotifyDue is { } notify && MadeWorkDue)
        {
            await using var command = Command(notify);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The caller's context, enlisted in this transaction, for its own rows (events, versions, profiles).</summary>
    public JourneyDbContext Db => db;

    /// <summary>A command in this transaction, for a statement of another concern that must commit with these writes.</summary>
    public DbCommand Command(string text) => Command(transaction, text);

    internal static DbCommand Command(DbTransaction transaction, string text)
    {
        var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        return command;
    }

    /// <summary>
    /// An empty batch of statements in this transaction (sent in one round trip), or null where the provider does better
    /// with one statement at a time (<see cref="InstanceSql.BatchesStatements"/>).
    /// </summary>
    public DbBatch? Batch() => CreateBatch(transaction, sql);

    internal static DbBatch? CreateBatch(DbTransaction transaction, InstanceSql sql)
    {
        if (!sql.BatchesStatements || transaction.Connection is not { CanCreateBatch: true } connection)
        {
            return null;
        }
        var batch = connection.CreateBatch();
        batch.Transaction = transaction;
        return batch;
    }

    /// <summary>
    /// The instances of these profiles that wait for any event, read once for a batch of events. Only the runner
    /// makes an instance wait, and it cannot commit a wait for these profiles while this transaction runs (the write
    /// gate on SQLite, the profiles' locks taken here first on PostgreSQL: <see cref="StoreLocks"/>), so the list
    /// stays complete for the batch; the conditional resume skips any that already moved.
    /// </summary>
    public async Task<List<WaitingInstance>> FindWaitingForEventsAsync(IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        var found = new List<WaitingInstance>();
        if (profileIds.Count == 0)
        {
            return found;
        }
        await StoreLocks.LockAsync(transaction, sql, profileIds, [], cancellationToken);
        await using var command = Command(sql.WaitingForEvents);
        command.AddParameter("@ids", sql.Ids(profileIds));
        command.AddParameter("@waiting", InstanceStatus.Waiting);
        command.AddParameter("@eventPrefix", WaitKeys.EventPrefix + "%");
        await ReadWaitingAsync(command, found, cancellationToken);
        return found;
    }

    /// <summary>
    /// The instance, if it waits for exactly <paramref name="waitingFor"/>; ordered against the runner committing that
    /// wait as <see cref="FindWaitingForEventsAsync"/> is (the instance's lock).
    /// </summary>
    public async Task<List<WaitingInstance>> FindWaitingAsync(long instanceId, string waitingFor, CancellationToken cancellationToken)
    {
        var found = new List<WaitingInstance>(1);
        await StoreLocks.LockAsync(transaction, sql, [], [instanceId], cancellationToken);
        await using var command = Command(sql.WaitingFor);
        command.AddParameter("@id", instanceId);
        command.AddParameter("@waiting", InstanceStatus.Waiting);
        command.AddParameter("@waitingFor", waitingFor);
        await ReadWaitingAsync(command, found, cancellationToken);
        return found;
    }

    private static async Task ReadWaitingAsync(DbCommand command, List<WaitingInstance> found, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await ReadWaitingAsync(reader, found, cancellationToken);
    }

    /// <summary>
    /// Moves on those of <paramref name="candidates"/> that still wait for <paramref name="waitingFor"/> to their
    /// node's next, keeping the event's payload as <c>events.&lt;name&gt;</c> when there is one, with a succeeded step
    /// at the wait node. Each move is one conditional UPDATE that succeeds only if the instance still waits for exactly
    /// that and no live lease holds it, so an arrival racing a timeout is decided once. Returns how many moved.
    /// A <paramref name="traceParent"/> (the W3C context of what resumed it) replaces the one stored with the instance.
    /// </summary>
    public async Task<int> ResumeAsync(
        IEnumerable<WaitingInstance> candidates, string waitingFor, string? eventName, string? payload,
        DateTimeOffset now, string detail, string? traceParent, CancellationToken cancellationToken)
    {
        var resumed = 0;
        foreach (var candidate in candidates)
        {
            if (candidate.WaitingFor != waitingFor)
            {
                continue;
            }
            var journey = await catalog.GetAsync(db, candidate.JourneyVersionId, cancellationToken);
            if (journey is null || candidate.NodeId is null || !journey.Nodes.TryGetValue(candidate.NodeId, out var node))
            {
                continue;
            }

            await using var resume = Command(sql.Resume);
            InstanceStore.AddRunning(resume);
            resume.AddParameter("@id", candidate.Id);
            resume.AddParameter("@next", node.Next);
            resume.AddParameter("@now", now.ToUnixTimeMilliseconds());
            resume.AddParameter("@waitingFor", waitingFor);
            resume.AddParameter("@eventName", eventName);
            resume.AddParameter("@payload", payload);
            resume.AddParameter("@traceParent", traceParent);
            var result = await resume.ExecuteScalarAsync(cancellationToken);
            if (result is null or DBNull)
            {
                continue;
            }

            await using var step = Command(sql.InsertStep);
            step.AddParameter("@instance", candidate.Id);
            step.AddParameter("@seq", Convert.ToInt32(result, CultureInfo.InvariantCulture));
            step.AddParameter("@node", node.Id!);
            step.AddParameter("@outcome", StepOutcome.Succeeded);
            step.AddParameter("@at", now.UtcDateTime);
            step.AddParameter("@detail", detail);
            await step.ExecuteNonQueryAsync(cancellationToken);
            Counters.Step(candidate.JourneyVersionId, node.Id!, StepOutcome.Succeeded);
            Counters.Move(candidate.JourneyVersionId, (InstanceStatus.Waiting, candidate.NodeId), (InstanceStatus.Active, node.Next));
            resumed++;
            MadeWorkDue = true;
        }
        return resumed;
    }

    /// <summary>Records the first reaction of a kind to a message; false when it was already recorded.</summary>
    public async Task<bool> InsertReactionAsync(long outboxMessageId, string kind, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = Command(sql.InsertReaction);
        command.AddParameter("@id", outboxMessageId);
        command.AddParameter("@kind", kind);
        command.AddParameter("@at", now.UtcDateTime);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public Task<MessageOwner?> MessageOwnerAsync(long outboxMessageId, CancellationToken cancellationToken) =>
        MessageOwnerAsync(Command(sql.MessageOwner), outboxMessageId, cancellationToken);

    internal static async Task<MessageOwner?> MessageOwnerAsync(DbCommand command, long outboxMessageId, CancellationToken cancellationToken)
    {
        await using (command)
        {
            command.AddParameter("@id", outboxMessageId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new MessageOwner(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2))
                : null;
        }
    }
}

/// <summary>What a waiting instance waits for, as stored in its WaitingFor column.</summary>
public static class WaitKeys
{
    public const string EventPrefix = "event:";
    public const string Timer = "wait";

    /// <summary>A message due outside its send window, waiting for the window to open.</summary>
    public const string SendWindow = "sendWindow";

    public static string Event(string eventName) => EventPrefix + eventName;

    public static string Reaction(string reaction, string actionNode) => $"reaction:{reaction}:{actionNode}";
}
