using System.Data.Common;
using System.Text.Json.Nodes;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime.Store;

/// <summary>
/// What the runner's write does beyond the instance rows, in the same transaction: the attribute writes of
/// updateProfile nodes (and the audience qualification they cause) and the admissions of jump nodes. Both happen only for a run whose instance update was accepted
/// (the lease still ours), so they commit exactly when the steps that record them do.
/// </summary>
public sealed partial class StoreSession
{
    /// <summary>
    /// Lets the session's context read in the runner's raw transaction (the compiled target journeys of jumps), and
    /// gives the store transaction that admits; the context lets go of the transaction when this is disposed.
    /// </summary>
    private async Task<Enlistment> EnlistAsync(DbTransaction transaction, NodeCounterDeltas counters, CancellationToken cancellationToken)
    {
        await Db.Database.UseTransactionAsync(transaction, cancellationToken);
        return new Enlistment(Db, new StoreTransaction(Db, transaction, _catalog, _sql, counters));
    }

    private sealed class Enlistment(JourneyDbContext db, StoreTransaction tx) : IAsyncDisposable
    {
        public StoreTransaction Tx { get; } = tx;

        public async ValueTask DisposeAsync() => await db.Database.UseTransactionAsync(null);
    }

    /// <summary>Decides each jump of <paramref name="run"/>: admits the profile into the target journey or records why not.</summary>
    private async Task SettleJumpsAsync(StoreTransaction tx, InstanceRun run, CancellationToken cancellationToken)
    {
        foreach (var jump in run.Jumps)
        {
            var (outcome, detail) = await JumpAsync(tx, run, jump, cancellationToken);
            jump.Step.Outcome = outcome;
            jump.Step.Detail = detail;
        }
    }

    /// <summary>
    /// A live instance enters the target's live version. A test instance (its journey is in test mode) enters the
    /// target's draft in test mode if it has one, else its live version, as a test instance either way: the test of a
    /// journey that hands over to another can follow the profile there, and a test never makes a real instance.
    /// The target's re-entrance rules apply as for any entry (<c>StoreTransaction.AdmitAsync</c>).
    /// </summary>
    private async Task<(string Outcome, string Detail)> JumpAsync(StoreTransaction tx, InstanceRun run, PendingJump jump, CancellationToken cancellationToken)
    {
        var test = run.Instance.IsTest;
        var versions = await Db.JourneyVersions.AsNoTracking()
            .Where(v => v.JourneyId == jump.Journey && (v.Status == JourneyStatus.Live || (v.Status == JourneyStatus.Draft && v.TestMode)))
            .Select(v => new { v.Id, v.Status })
            .ToListAsync(cancellationToken);
        var version = (test ? versions.FirstOrDefault(v => v.Status == JourneyStatus.Draft) : null)
            ?? versions.FirstOrDefault(v => v.Status == JourneyStatus.Live);
        if (version is null || await _catalog.GetAsync(Db, version.Id, cancellationToken) is not { } target)
        {
            return (StepOutcome.Failed, test
                ? $"Journey {jump.Journey} is neither live nor in test mode: the profile did not enter it."
                : $"Journey {jump.Journey} is not live: the profile did not enter it.");
        }
        if (target.Start?.Type != NodeTypes.JourneyEntry)
        {
            return (StepOutcome.Failed, $"Journey '{target.JourneyName}' no longer starts with a journeyEntry node: the profile did not enter it.");
        }

        var admitted = await tx.AdmitAsync(target, [run.Instance.ProfileId], test, run.Now, run.Instance.Context, cancellationToken);
        if (admitted.Count > 0)
        {
            return (StepOutcome.Succeeded, $"Entered journey '{target.JourneyName}' (instance {admitted[0]}{(test ? ", a test instance" : "")}).");
        }
        return (StepOutcome.Skipped, $"Did not enter journey '{target.JourneyName}': {await RefusalAsync(target, run, test, cancellationToken)}");
    }

    /// <summary>Why the admission skipped the profile, for the step's detail (read only when it did).</summary>
    private async Task<string> RefusalAsync(CompiledJourney target, InstanceRun run, bool test, CancellationToken cancellationToken)
    {
        if (test && !run.Profile!.IsTest)
        {
            return "it is no longer a test profile.";
        }
        var instances = Db.JourneyInstances.AsNoTracking().Where(i => i.JourneyId == target.Version.JourneyId && i.ProfileId == run.Instance.ProfileId);
        if (await instances.AnyAsync(i => i.Status == InstanceStatus.Active || i.Status == InstanceStatus.Waiting, cancellationToken))
        {
            return "the profile is in it already.";
        }
        if (!target.ReentranceAllowed)
        {
            return "the profile has been in it before and it does not allow re-entrance.";
        }
        var left = await instances.Where(i => i.EndedAt != null).OrderByDescending(i => i.EndedAt).Select(i => i.EndedAt).FirstOrDefaultAsync(cancellationToken);
        return left is { } ended
            ? $"the profile left it at {ended:O} and may enter again after its re-entrance wait period, at {ended + target.ReentranceWait:O}."
            : "the re-entrance rules refused the profile.";
    }

    /// <summary>
    /// Applies the runs' attribute writes to the profiles as stored now (read, and locked where the provider can, in this
    /// transaction), in run order, and writes each changed profile once with its UpdatedAt moved. A profile forgotten
    /// meanwhile is not brought back; a path that meanwhile runs into a non-object value (an upsert since the batch read
    /// the profile) is left as the upsert made it, the rule the run applied in memory.
    /// </summary>
    private async Task<List<long>> WriteProfileUpdatesAsync(DbTransaction transaction, List<InstanceRun> written, CancellationToken cancellationToken)
    {
        var updating = written.Where(r => r.ProfileUpdates.Count > 0).ToList();
        if (updating.Count == 0)
        {
            return [];
        }

        var stored = new Dictionary<long, (JsonObject Attributes, DateTime At)>();
        await using (var read = StoreTransaction.Command(transaction, _sql.LockProfiles))
        {
            read.AddParameter("@ids", _sql.Ids([.. updating.Select(r => r.Instance.ProfileId).Distinct()]));
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                stored[reader.GetInt64(0)] = (JsonNode.Parse(reader.GetString(1)) as JsonObject ?? [], DateTime.MinValue);
            }
        }
        foreach (var run in updating)
        {
            if (!stored.TryGetValue(run.Instance.ProfileId, out var profile))
            {
                continue;
            }
            foreach (var update in run.ProfileUpdates)
            {
                ProfileAttributes.TrySet(profile.Attributes, update.Path, update.Value?.DeepClone());
            }
            var at = run.Now.UtcDateTime;
            stored[run.Instance.ProfileId] = (profile.Attributes, at > profile.At ? at : profile.At);
        }

        var changed = stored.Where(p => p.Value.At != DateTime.MinValue).ToList();
        await using var batch = StoreTransaction.CreateBatch(transaction, _sql);
        foreach (var (id, (attributes, at)) in changed)
        {
            if (batch is not null)
            {
                batch.Add(_sql.UpdateProfileAttributes, ("@id", id), ("@attributes", attributes.ToJsonString()), ("@at", at));
                continue;
            }
            await using var update = StoreTransaction.Command(transaction, _sql.UpdateProfileAttributes);
            update.AddParameter("@id", id);
            update.AddParameter("@attributes", attributes.ToJsonString());
            update.AddParameter("@at", at);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        if (batch is { BatchCommands.Count: > 0 })
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        return [.. changed.Select(p => p.Key)];
    }

    /// <summary>Audience qualification of the profiles that updateProfile nodes changed (see Audiences/AudienceMembership).</summary>
    private AudienceMembership Membership => _scope.ServiceProvider.GetRequiredService<AudienceMembership>();

    /// <summary>First in the runner's write when it changes profiles: the order profile writes keep against a change of what is tracked.</summary>
    private Task BeginProfileUpdatesAsync(DbTransaction transaction, IReadOnlyCollection<InstanceRun> runs, CancellationToken cancellationToken) =>
        runs.Any(r => r.ProfileUpdates.Count > 0 && !r.Lost && !r.Released)
            ? Membership.BeginProfileWriteAsync(transaction, cancellationToken)
            : Task.CompletedTask;

    /// <summary>
    /// The profiles updateProfile nodes changed may start or stop matching an audience that a qualification journey
    /// uses: they enter those journeys in this transaction, as after any other profile write. Returns whether someone was admitted.
    /// </summary>
    private async Task<bool> QualifyAsync(
        DbTransaction transaction, Enlistment? enlisted, List<long> changed, NodeCounterDeltas counters, CancellationToken cancellationToken)
    {
        if (changed.Count == 0)
        {
            return false;
        }
        await using var own = enlisted is null ? await EnlistAsync(transaction, counters, cancellationToken) : null;
        var tx = (enlisted ?? own)!.Tx;
        return await Membership.ApplyAsync(tx, changed, cancellationToken) > 0;
    }
}
