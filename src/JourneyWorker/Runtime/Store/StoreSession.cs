using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Runtime.Store;

/// <summary>
/// One open connection of the store, used by one caller at a time: the runner for a batch, the intake
/// writer from commit to commit. Reads run on it directly; writes go through WriteAsync
/// (gate, transaction, commit) or <see cref="WriteRunsAsync"/>.
/// </summary>
public sealed partial class StoreSession : IAsyncDisposable
{
    private readonly AsyncServiceScope _scope;
    private readonly WriteGate _gate;
    private readonly JourneyCatalog _catalog;
    private readonly InstanceSql _sql;

    internal StoreSession(AsyncServiceScope scope, JourneyDbContext db, WriteGate gate, JourneyCatalog catalog, InstanceSql sql)
    {
        _scope = scope;
        Db = db;
        _gate = gate;
        _catalog = catalog;
        _sql = sql;
    }

    internal JourneyDbContext Db { get; }

    public ValueTask DisposeAsync() => _scope.DisposeAsync();

    /// <summary>Runs <paramref name="work"/> in one transaction under the write gate and commits it.</summary>
    public async Task<T> WriteAsync<T>(Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var result = await WriteAsync(Db, _gate, _catalog, _sql, work, cancellationToken);
        // A kept session must not grow: nothing tracked survives a commit.
        Db.ChangeTracker.Clear();
        return result;
    }

    internal static Task<T> WriteAsync<T>(
        JourneyDbContext db, WriteGate gate, JourneyCatalog catalog, InstanceSql sql, Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        gate.RunAsync(() => TransactAsync(db, catalog, sql, work, cancellationToken), cancellationToken);

    internal static async Task<T> TransactAsync<T>(
        JourneyDbContext db, JourneyCatalog catalog, InstanceSql sql, Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var tx = new StoreTransaction(db, transaction.GetDbTransaction(), catalog, sql);
        var result = await work(tx);
        await tx.BeforeCommitAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    internal DbCommand Command(string text)
    {
        var command = Db.Database.GetDbConnection().CreateCommand();
        command.Transaction = Db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = text;
        return command;
    }

    /// <summary>
    /// Reads what a batch of claimed instances needs in a handful of set-based queries: the instances still
    /// leased to <paramref name="owner"/> (a claim can be lost to a stop, a deletion or an expired lease), their
    /// compiled journeys, profiles, and — only when the batch's journeys can use them — outbox rows, reactions,
    /// suppressed addresses and the frequency rules.
    /// </summary>
    public async Task<InstanceBatch> LoadBatchAsync(IReadOnlyCollection<long> ids, string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var instances = await LoadInstancesAsync(ids, owner, cancellationToken);
        var runs = instances.Select(i => new InstanceRun(i, now)).ToList();
        if (runs.Count == 0)
        {
            return new InstanceBatch(runs, NoSuppressions, []);
        }

        foreach (var versionId in instances.Select(i => i.JourneyVersionId).Distinct())
        {
            var journey = await _catalog.GetAsync(Db, versionId, cancellationToken);
            foreach (var run in runs.Where(r => r.Instance.JourneyVersionId == versionId))
            {
                run.Journey = journey;
            }
        }

        var profiles = await LoadProfilesAsync([.. instances.Select(i => i.ProfileId).Distinct()], cancellationToken);
        var byInstance = runs.ToDictionary(r => r.Instance.Id);
        foreach (var run in runs)
        {
            run.Profile = profiles.GetValueOrDefault(run.Instance.ProfileId);
        }

        // A batch of timers has no messages, reactions or addresses to look at.
        var journeys = runs.Select(r => r.Journey).OfType<CompiledJourney>().Distinct().ToList();
        if (!journeys.Any(j => j.HasMessages))
        {
            return new InstanceBatch(runs, NoSuppressions, []);
        }

        var instanceIds = byInstance.Keys.ToList();
        var outbox = await Db.OutboxMessages.AsNoTracking().Where(m => instanceIds.Contains(m.InstanceId)).ToListAsync(cancellationToken);
        foreach (var message in outbox)
        {
            byInstance[message.InstanceId].Outbox[message.NodeId] = message;
        }

        // Reactions that came before the instance reaches its reaction node (rare, so the set is small);
        // one arriving later still is caught inside the commit (SettleReactionAsync).
        var reactions = !journeys.Any(j => j.HasReactions) ? [] : await Db.MessageReactions.AsNoTracking()
            .Join(Db.OutboxMessages, r => r.OutboxMessageId, m => m.Id, (r, m) => new { m.InstanceId, m.NodeId, r.Kind })
            .Where(x => instanceIds.Contains(x.InstanceId))
            .ToListAsync(cancellationToken);
        foreach (var reaction in reactions)
        {
            byInstance[reaction.InstanceId].Reactions.Add((reaction.NodeId, reaction.Kind));
        }

        var hashes = !journeys.Any(j => j.HasEmail) ? [] : profiles.Values.Select(ProfileAddresses.Email).OfType<string>().Select(ProfileAddresses.SuppressionKey).Distinct().ToList();
        var suppressed = hashes.Count == 0
            ? NoSuppressions
            : await Db.EmailSuppressions.AsNoTracking().Where(s => hashes.Contains(s.AddressHash))
                .ToDictionaryAsync(s => s.AddressHash, s => s.Reason, StringComparer.Ordinal, cancellationToken);
        // The rules are applied at each checkpoint (see CheckCapsAsync); a batch that cannot send marketing messages needs none.
        List<FrequencyCap> caps = !journeys.Any(j => j.HasMarketing) ? [] : await Db.FrequencyRules.AsNoTracking().OrderBy(r => r.Position)
            .Select(r => new FrequencyCap(r.Channel, r.Max, r.Per)).ToListAsync(cancellationToken);
        return new InstanceBatch(runs, suppressed, caps);
    }

    private static readonly IReadOnlyDictionary<string, string> NoSuppressions = new Dictionary<string, string>();

    private async Task<List<JourneyInstance>> LoadInstancesAsync(IReadOnlyCollection<long> ids, string owner, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.BatchInstances);
        command.AddParameter("@ids", _sql.Ids(ids));
        command.AddParameter("@owner", owner);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var instances = new List<JourneyInstance>(ids.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            instances.Add(new JourneyInstance
            {
                Id = reader.GetInt64(0),
                JourneyId = reader.GetGuid(1),
                JourneyVersionId = reader.GetGuid(2),
                ProfileId = reader.GetInt64(3),
                Status = reader.GetString(4),
                NodeId = reader.IsDBNull(5) ? null : reader.GetString(5),
                DueAt = reader.IsDBNull(6) ? null : reader.GetInt64(6),
                WaitingFor = reader.IsDBNull(7) ? null : reader.GetString(7),
                LeaseOwner = reader.IsDBNull(8) ? null : reader.GetString(8),
                LeaseUntil = reader.IsDBNull(9) ? null : reader.GetInt64(9),
                Context = reader.GetString(10),
                IsTest = reader.GetBoolean(11),
                NextSeq = reader.GetInt32(12),
                DeadlineAt = reader.GetInt64(13),
                EnteredAt = reader.GetDateTime(14),
                EndedAt = reader.IsDBNull(15) ? null : reader.GetDateTime(15),
                EndReason = reader.IsDBNull(16) ? null : reader.GetString(16),
                TraceParent = reader.IsDBNull(17) ? null : reader.GetString(17),
            });
        }
        return instances;
    }

    /// <summary>The profiles with their identities and push tokens, by id, in one round of three indexed lookups.</summary>
    private async Task<Dictionary<long, Profile>> LoadProfilesAsync(List<long> ids, CancellationToken cancellationToken)
    {
        await using var command = Command(_sql.BatchProfiles);
        command.AddParameter("@ids", _sql.Ids(ids));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var profiles = new Dictionary<long, Profile>(ids.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            var profile = new Profile
            {
                Id = reader.GetInt64(0),
                Attributes = reader.GetString(1),
                ConsentEmail = reader.GetBoolean(2),
                ConsentPush = reader.GetBoolean(3),
                IsTest = reader.GetBoolean(4),
            };
            profiles[profile.Id] = profile;
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (profiles.TryGetValue(reader.GetInt64(1), out var profile))
            {
                profile.Identities.Add(new ProfileIdentity { Id = reader.GetInt64(0), ProfileId = profile.Id, Namespace = reader.GetString(2), Value = reader.GetString(3) });
            }
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (profiles.TryGetValue(reader.GetInt64(1), out var profile))
            {
                profile.PushTokens.Add(new PushToken
                {
                    Id = reader.GetInt64(0),
                    ProfileId = profile.Id,
                    Token = reader.GetString(2),
                    Platform = reader.GetString(3),
                    RetiredAt = reader.IsDBNull(4) ? null : reader.GetDateTime(4),
                });
            }
        }
        return profiles;
    }
}

/// <summary>
/// What a batch of claimed instances needs, read in a handful of set-based queries instead of several per instance;
/// <paramref name="SuppressedAddresses"/> holds the suppression reason by address key.
/// </summary>
public sealed record InstanceBatch(List<InstanceRun> Runs, IReadOnlyDictionary<string, string> SuppressedAddresses, IReadOnlyList<FrequencyCap> Caps);
