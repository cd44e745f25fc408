using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Runtime.Store;

/// <summary>Admission: new instances for given profiles (events, qualification) or for the next members of an audience.</summary>
public sealed partial class StoreTransaction
{
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
    /// Admits the audience's next <paramref name="limit"/> members after profile <paramref name="afterId"/> and up to
    /// profile <paramref name="upToId"/> (a range of one lane of the read), selecting and inserting them in one statement.
    /// Returns how many were admitted and the last member looked at, or null for the last when none are left after these
    /// in the range. One call never looks at more than <paramref name="limit"/> members.
    /// </summary>
    public async Task<(int Admitted, long? Last)> AdmitMembersAsync(
        CompiledJourney journey, SqlFragment members, long afterId, long upToId, int limit, bool testOnly, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (journey.Start is null)
        {
            return (0, null);
        }

        if (sql.ChunkSettings is { } settings)
        {
            await using var set = Command(settings);
            await set.ExecuteNonQueryAsync(cancellationToken);
        }

        // The fragment's text holds no client data: literals and paths are parameters (see ExpressionSql).
        var (profiles, condition) = ($"({sql.Members(members.Sql)})", "1 = 1");
        int admitted;
        long last;
        if (sql.AdmitUnguarded(profiles, condition, "ProfileId") is { } unguarded)
        {
            await transaction.SaveAsync(AdmitSavepoint, cancellationToken);
            try
            {
                (admitted, last) = await InsertMembersAsync(unguarded, journey, members, (afterId, upToId), limit, testOnly, now, cancellationToken);
            }
            catch (DbException e) when (e.SqlState == UniqueViolation)
            {
                // A profile of the page was admitted by another transaction (an event's) after the statement's snapshot.
                await transaction.RollbackAsync(AdmitSavepoint, cancellationToken);
                (admitted, last) = await InsertMembersAsync(sql.Admit(profiles, condition, "ProfileId"), journey, members, (afterId, upToId), limit, testOnly, now, cancellationToken);
            }
        }
        else
        {
            (admitted, last) = await InsertMembersAsync(sql.Admit(profiles, condition, "ProfileId"), journey, members, (afterId, upToId), limit, testOnly, now, cancellationToken);
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
        AddMemberParameters(probe, members, (afterId, upToId), limit);
        await using var page = await probe.ExecuteReaderAsync(cancellationToken);
        await page.ReadAsync(cancellationToken);
        return (admitted, page.GetInt64(0) < limit ? null : page.GetInt64(1));
    }

    private const string AdmitSavepoint = "admit_members";

    /// <summary>SQLSTATE unique_violation.</summary>
    private const string UniqueViolation = "23505";

    private async Task<(int Admitted, long Last)> InsertMembersAsync(
        string text, CompiledJourney journey, SqlFragment members, (long After, long UpTo) range, int limit, bool testOnly, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var (admitted, last) = (0, range.After);
        await using var insert = AdmitCommand(text, journey, testOnly, now, null, null);
        AddMemberParameters(insert, members, range, limit);
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            admitted++;
            last = Math.Max(last, reader.GetInt64(0));
        }
        return (admitted, last);
    }

    private static void AddMemberParameters(DbCommand command, SqlFragment members, (long After, long UpTo) range, int limit)
    {
        command.AddParameter("@after", range.After);
        command.AddParameter("@upto", range.UpTo);
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
