using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Expressions;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Audiences;

/// <summary>
/// Audience qualification: who newly matches an audience (or stops matching it) when profiles are written, and the
/// journeys that start with an audienceQualification node for it. Membership is kept in <c>AudienceMembers</c> only for
/// the audiences such a live or test-mode journey uses ("tracked"); when an audience becomes tracked it is seeded from
/// the profiles as they are, admitting nobody, because qualifying means starting to match, not matching. Every call
/// runs inside the caller's transaction, so membership, admissions and the profile write commit together.
/// </summary>
public sealed partial class AudienceMembership(
    JourneyStarts starts, EventSql startsSql, MembershipSql sql, TimeProvider time, ILogger<AudienceMembership> logger)
{
    /// <summary>A seed reads every profile: on a large database it may run longer than a statement's default 30 s.</summary>
    private const int SeedTimeoutSeconds = 600;

    /// <summary>
    /// First in a transaction that writes profiles (before any row is written or locked), so that it orders against a
    /// change of what is tracked the same way everywhere: such a change takes the lock before its own row work (a
    /// profile write taking it after its rows could wait on a change that waits on those rows). Shared: profile writes
    /// run side by side. A no-op where the write gate already orders writers (SQLite).
    /// </summary>
    public Task BeginProfileWriteAsync(StoreTransaction tx, CancellationToken cancellationToken) => LockAsync(tx, sql.LockShared, cancellationToken);

    /// <summary>
    /// The same for the runner's raw transaction (updateProfile nodes), which has no store transaction until it needs one.
    /// </summary>
    public Task BeginProfileWriteAsync(System.Data.Common.DbTransaction transaction, CancellationToken cancellationToken) =>
        LockAsync(transaction, sql.LockShared, cancellationToken);

    /// <summary>
    /// After profiles were written (created, updated, imported, changed by an updateProfile node), in a transaction that
    /// began with <see cref="BeginProfileWriteAsync(StoreTransaction, CancellationToken)"/>: for each tracked audience,
    /// evaluates its rule for these profiles in SQL, adds those that now match and were not members, removes the members
    /// that no longer match, and admits the first into its "enter" journeys and the second into its "exit" journeys
    /// (re-entrance rules apply; a test-mode draft takes test profiles only). Returns how many instances were admitted.
    /// </summary>
    public async Task<int> ApplyAsync(StoreTransaction tx, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0)
        {
            return 0;
        }
        var qualifications = await starts.QualificationsAsync(tx, startsSql, cancellationToken);
        if (qualifications.Count == 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        var admitted = 0;
        foreach (var (audienceId, members) in await RulesAsync(tx.Db, qualifications.Select(q => q.Key), now, cancellationToken))
        {
            var joined = await ChangeAsync(tx, sql.Join(members.Sql), audienceId, members, profileIds, cancellationToken);
            var left = await ChangeAsync(tx, sql.Leave(members.Sql), audienceId, members, profileIds, cancellationToken);
            foreach (var start in qualifications[audienceId])
            {
                var entering = start.OnExit ? left : joined;
                admitted += (await tx.AdmitAsync(start.Journey, entering, start.TestOnly, now, null, cancellationToken)).Count;
            }
        }
        return admitted;
    }

    /// <summary>
    /// Called first in a transaction that may change which audiences are tracked (a journey published, closed, stopped,
    /// tested, a test-mode draft edited): holds off profile writes until it commits and returns the audiences tracked
    /// before the change, for <see cref="SyncTrackingAsync"/>.
    /// </summary>
    public async Task<IReadOnlySet<Guid>> LockTrackingAsync(StoreTransaction tx, CancellationToken cancellationToken)
    {
        await LockAsync(tx, sql.LockExclusive, cancellationToken);
        return (await starts.QualificationsAsync(tx, startsSql, cancellationToken)).Select(q => q.Key).ToHashSet();
    }

    /// <summary>
    /// After the change (saved in the transaction): an audience that became tracked is seeded from the profiles as they
    /// are now, one that is no longer tracked loses its rows (they would be stale by the time it is tracked again).
    /// </summary>
    public async Task SyncTrackingAsync(StoreTransaction tx, IReadOnlySet<Guid> before, CancellationToken cancellationToken)
    {
        var after = (await starts.QualificationsAsync(tx, startsSql, cancellationToken)).Select(q => q.Key).ToHashSet();
        foreach (var audienceId in before.Except(after))
        {
            await ForgetAsync(tx, audienceId, cancellationToken);
        }
        var added = after.Except(before).ToList();
        if (added.Count > 0)
        {
            foreach (var (audienceId, members) in await RulesAsync(tx.Db, added, time.GetUtcNow(), cancellationToken))
            {
                await SeedAsync(tx, audienceId, members, cancellationToken);
            }
        }
    }

    /// <summary>
    /// An audience's rule changed (saved in the transaction, after <see cref="LockTrackingAsync"/> gave what is
    /// <paramref name="tracked"/>): if the audience is tracked, its membership is seeded again under the
    /// new rule, admitting nobody, so that the edit itself does not make every newly selected profile "qualify" at its
    /// next write.
    /// </summary>
    public async Task RuleChangedAsync(StoreTransaction tx, IReadOnlySet<Guid> tracked, Guid audienceId, CancellationToken cancellationToken)
    {
        if (!tracked.Contains(audienceId))
        {
            return;
        }
        foreach (var (id, members) in await RulesAsync(tx.Db, [audienceId], time.GetUtcNow(), cancellationToken))
        {
            await SeedAsync(tx, id, members, cancellationToken);
        }
    }

    /// <summary>The audience is deleted: its membership goes with it.</summary>
    public async Task AudienceDeletedAsync(StoreTransaction tx, Guid audienceId, CancellationToken cancellationToken)
    {
        await LockAsync(tx, sql.LockExclusive, cancellationToken);
        await ForgetAsync(tx, audienceId, cancellationToken);
    }

    /// <summary>
    /// The profile is forgotten (in a transaction that began with <see cref="BeginProfileWriteAsync(StoreTransaction, CancellationToken)"/>):
    /// its memberships go, and nobody is admitted (there is no one left to enter an exit journey). Audience by audience
    /// through the key: audiences are few, memberships many.
    /// </summary>
    public async Task ProfileDeletedAsync(StoreTransaction tx, long profileId, CancellationToken cancellationToken)
    {
        var db = tx.Db;
        await db.AudienceMembers
            .Where(m => db.Audiences.Select(a => a.Id).Contains(m.AudienceId) && m.ProfileId == profileId)
            .ExecuteDeleteAsync(cancellationToken);
    }

    private async Task SeedAsync(StoreTransaction tx, Guid audienceId, SqlFragment members, CancellationToken cancellationToken)
    {
        await ForgetAsync(tx, audienceId, cancellationToken);
        await using var command = tx.Command(sql.Seed(members.Sql));
        command.CommandTimeout = SeedTimeoutSeconds;
        AddParameters(command, audienceId, members);
        var seeded = await command.ExecuteNonQueryAsync(cancellationToken);
        LogSeeded(logger, audienceId, seeded);
    }

    private async Task ForgetAsync(StoreTransaction tx, Guid audienceId, CancellationToken cancellationToken)
    {
        await using var command = tx.Command(sql.Forget);
        command.AddParameter("@audience", sql.Guid(audienceId));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<List<long>> ChangeAsync(
        StoreTransaction tx, string text, Guid audienceId, SqlFragment members, IReadOnlyCollection<long> profileIds, CancellationToken cancellationToken)
    {
        await using var command = tx.Command(text);
        AddParameters(command, audienceId, members);
        command.AddParameter("@ids", sql.Ids(profileIds));
        var changed = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changed.Add(reader.GetInt64(0));
        }
        return changed;
    }

    private void AddParameters(System.Data.Common.DbCommand command, Guid audienceId, SqlFragment members)
    {
        command.AddParameter("@audience", sql.Guid(audienceId));
        for (var i = 0; i < members.Parameters.Count; i++)
        {
            command.AddParameter($"@p{i}", members.Parameters[i]);
        }
    }

    /// <summary>
    /// The audiences' rules as SQL conditions. An audience deleted since (a test-mode draft may still name it) has no
    /// members; a stored rule that no longer translates is logged and skipped rather than failing the profile write.
    /// </summary>
    private async Task<List<(Guid AudienceId, SqlFragment Members)>> RulesAsync(
        JourneyDbContext db, IEnumerable<Guid> audienceIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = audienceIds.ToList();
        var rules = await db.Audiences.AsNoTracking().Where(a => ids.Contains(a.Id)).Select(a => new { a.Id, a.Rule }).ToListAsync(cancellationToken);
        var dialect = db.Dialect();
        var result = new List<(Guid, SqlFragment)>(rules.Count);
        foreach (var audience in rules.OrderBy(a => a.Id))
        {
            try
            {
                result.Add((audience.Id, AudienceQuery.Where(audience.Rule, now, dialect)));
            }
            catch (ExpressionParseException e)
            {
                LogRuleInvalid(logger, audience.Id, e.Message);
            }
        }
        return result;
    }

    private static Task LockAsync(StoreTransaction tx, string? text, CancellationToken cancellationToken) =>
        text is null ? Task.CompletedTask : LockAsync(tx.Command(text), cancellationToken);

    private static Task LockAsync(System.Data.Common.DbTransaction transaction, string? text, CancellationToken cancellationToken) =>
        text is null ? Task.CompletedTask : LockAsync(StoreTransaction.Command(transaction, text), cancellationToken);

    private static async Task LockAsync(System.Data.Common.DbCommand lockCommand, CancellationToken cancellationToken)
    {
        await using var command = lockCommand;
        command.AddParameter("@class", StoreLocks.MembershipClass);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Audience {AudienceId} is tracked for qualification: {Members} current members recorded, none admitted")]
    private static partial void LogSeeded(ILogger logger, Guid audienceId, int members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audience {AudienceId}: its rule cannot be evaluated ({Reason}); qualification skips it")]
    private static partial void LogRuleInvalid(ILogger logger, Guid audienceId, string reason);
}
