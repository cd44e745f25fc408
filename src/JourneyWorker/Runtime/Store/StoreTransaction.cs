using System.Data.Common;
using System.Globalization;
using System.Linq.Expressions;
using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
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
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new WaitingInstance(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                reader.GetGuid(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
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

    /// <summary>
    /// Admits the given profiles in one INSERT … SELECT that skips profiles already running in the journey (any
    /// version) or refused by the re-entrance rules, so a repeated admission is harmless. Returns the new instances' ids.
    /// </summary>
    public Task<List<long>> AdmitAsync(
        CompiledJourney journey, IReadOnlyCollection<long> profileIds, bool testOnly, DateTimeOffset now, string? context, CancellationToken cancellationToken) =>
        AdmitAsync(journey, profileIds, testOnly, now, context, null, cancellationToken);

    /// <summary>As above, the new instances carrying <paramref name="traceParent"/> (the W3C context of the event that admits them).</summary>
    public async Task<List<long>> AdmitAsync(
        CompiledJourney journey, IReadOnlyCollection<long> profileIds, bool testOnly, DateTimeOffset now, string? context, string? traceParent,
        CancellationToken cancellationToken)
    {
        var created = new List<long>(profileIds.Count);
        if (profileIds.Count == 0 || journey.Start is null)
        {
            return created;
        }

        await using var insert = AdmitCommand(sql.AdmitProfiles, journey, testOnly, now, context, traceParent);
        insert.AddParameter("@ids", sql.Ids(profileIds));
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            created.Add(reader.GetInt64(0));
        }
        Counters.Instances(journey.Version.Id, journey.Start.Next, InstanceStatus.Active, created.Count);
        MadeWorkDue |= created.Count > 0;
        return created;
    }

    /// <summary>
    /// Admits the audience's next <paramref name="limit"/> members after profile <paramref name="afterId"/>, selecting
    /// and inserting them in one statement. Returns how many were admitted and the last member looked at, or null for
    /// the last when none are left after these. One call never looks at more than <paramref name="limit"/> members.
    /// </summary>
    public async Task<(int Admitted, long? Last)> AdmitMembersAsync(
        CompiledJourney journey, SqlFragment members, long afterId, int limit, bool testOnly, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (journey.Start is null)
        {
            return (0, null);
        }

        // The fragment's text holds no client data: literals and paths are parameters (see ExpressionSql).
        var (admitted, last) = (0, afterId);
        await using (var insert = AdmitCommand(sql.Admit($"({sql.Members(members.Sql)})", "1 = 1", "ProfileId"), journey, testOnly, now, null, null))
        {
            AddMemberParameters(insert, members, afterId, limit);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                admitted++;
                last = Math.Max(last, reader.GetInt64(0));
            }
        }
        Counters.Instances(journey.Version.Id, journey.Start.Next, InstanceStatus.Active, admitted);
        MadeWorkDue |= admitted > 0;
        if (admitted == limit)
        {
            return (admitted, last);
        }

        // Some were skipped or the audience ran out: only then is the page looked at again to learn which.
        await using var probe = Command(sql.CountMembers(members.Sql));
        probe.AddParameter("@testOnly", testOnly);
        AddMemberParameters(probe, members, afterId, limit);
        await using var page = await probe.ExecuteReaderAsync(cancellationToken);
        await page.ReadAsync(cancellationToken);
        return (admitted, page.GetInt64(0) < limit ? null : page.GetInt64(1));
    }

    private static void AddMemberParameters(DbCommand command, SqlFragment members, long afterId, int limit)
    {
        command.AddParameter("@after", afterId);
        command.AddParameter("@limit", limit);
        for (var i = 0; i < members.Parameters.Count; i++)
        {
            command.AddParameter($"@p{i}", members.Parameters[i]);
        }
    }

    private DbCommand AdmitCommand(string text, CompiledJourney journey, bool testOnly, DateTimeOffset now, string? context, string? traceParent)
    {
        var command = Command(text);
        InstanceStore.AddRunning(command);
        command.AddParameter("@journey", sql.Guid(journey.Version.JourneyId));
        command.AddParameter("@version", sql.Guid(journey.Version.Id));
        command.AddParameter("@node", (object?)journey.Start!.Next ?? DBNull.Value);
        command.AddParameter("@now", now.ToUnixTimeMilliseconds());
        command.AddParameter("@context", context ?? "{}");
        command.AddParameter("@traceParent", traceParent);
        command.AddParameter("@test", testOnly);
        command.AddParameter("@firstSeq", StoredSteps.FirstSeq);
        command.AddParameter("@deadline", (now + journey.Timeout).ToUnixTimeMilliseconds());
        command.AddParameter("@entered", now.UtcDateTime);
        command.AddParameter("@testOnly", testOnly);
        command.AddParameter("@reentry", journey.ReentranceAllowed);
        command.AddParameter("@cutoff", (now - journey.ReentranceWait).UtcDateTime);
        return command;
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
