using System.Data.Common;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Profiles;

public sealed partial class ProfileImporter
{
    /// <summary>
    /// The batch's valid lines in one transaction, with what they change in audience qualification (evaluated once for
    /// the batch's profiles, set-based) and, for a followed import, its progress; each line's outcome is left in its
    /// Error. If the database refuses the batch (another writer stored one of its identities meanwhile, a value the
    /// database cannot hold), nothing of it stays and each line is written again alone, so that only a bad line fails.
    /// </summary>
    private async Task WriteBatchAsync(List<Line> batch, ImportRun? run, CancellationToken cancellationToken)
    {
        var lines = batch.Where(l => l.Request is not null).ToList();
        Func<StoreTransaction, Task>? progress = run is null ? null : tx => StoreProgressAsync(tx, run, batch, cancellationToken);
        try
        {
            await WriteLinesAsync(lines, progress, cancellationToken);
            return;
        }
        catch (DbException e) when (!connections.IsEnvironmental(e))
        {
            // A busy, full or unreachable database is no line's fault: that propagates (the import stops, answered 503).
            LogBatchRefused(logger, batch[0].Number, batch[^1].Number, e);
        }

        foreach (var line in lines)
        {
            try
            {
                await WriteLinesAsync([line], null, cancellationToken);
            }
            catch (DbException e) when (!connections.IsEnvironmental(e))
            {
                (line.Profile, line.Error) = (null, $"Could not be stored: {e.Message}");
            }
        }
        if (progress is not null)
        {
            await store.WriteAsync(db, async tx =>
            {
                await progress(tx);
                return 0;
            }, cancellationToken);
        }
    }

    private async Task WriteLinesAsync(List<Line> lines, Func<StoreTransaction, Task>? progress, CancellationToken cancellationToken)
    {
        if (lines.Count == 0 && progress is null)
        {
            return;
        }
        await store.WriteAsync(db, async tx =>
        {
            await membership.BeginProfileWriteAsync(tx, cancellationToken);
            var profiles = await PlanAsync(tx, lines, cancellationToken);
            await sql.WriteAsync(tx, profiles, cancellationToken);
            foreach (var line in lines.Where(l => l.Clash is not null))
            {
                line.Error = ClashError(line.Clash!);
            }
            var written = profiles.Where(p => p.Written).Select(p => p.Id).ToList();
            var admitted = await membership.ApplyAsync(tx, written, cancellationToken);
            if (progress is not null)
            {
                // Last, after the profile rows and their locks: the lock order of a profile write stays as it was.
                await progress(tx);
            }
            return admitted;
        }, cancellationToken);
    }

    /// <summary>The import's counts and first errors with this batch's, stored with the batch (what a restart finds).</summary>
    private async Task StoreProgressAsync(StoreTransaction tx, ImportRun run, List<Line> batch, CancellationToken cancellationToken)
    {
        var errors = batch.Where(l => l.Error is not null).Select(l => new ImportError(l.Number, l.Error!)).ToList();
        var imported = run.Imported + batch.Count - errors.Count;
        var failed = run.Failed + errors.Count;
        var now = time.GetUtcNow().UtcDateTime;
        if (errors.Count > 0 && run.Failed < MaxReportedErrors)
        {
            var json = run.ErrorsJson(errors, MaxReportedErrors, ImportJson.Options);
            await tx.Db.ProfileImports.Where(i => i.Id == run.Id).ExecuteUpdateAsync(s => s
                .SetProperty(i => i.Imported, imported).SetProperty(i => i.Failed, failed)
                .SetProperty(i => i.Errors, json).SetProperty(i => i.UpdatedAt, now), cancellationToken);
            return;
        }
        await tx.Db.ProfileImports.Where(i => i.Id == run.Id).ExecuteUpdateAsync(s => s
            .SetProperty(i => i.Imported, imported).SetProperty(i => i.Failed, failed).SetProperty(i => i.UpdatedAt, now), cancellationToken);
    }

    /// <summary>
    /// Applies the lines to the profiles they name, in order, in memory: the stored profiles of the batch's identities
    /// (one lookup for all of them), then whatever earlier lines of the batch created or changed. Returns every profile
    /// the batch touched, in the order first touched.
    /// </summary>
    private async Task<List<BatchProfile>> PlanAsync(StoreTransaction tx, List<Line> lines, CancellationToken cancellationToken)
    {
        var keys = lines.SelectMany(l => l.Identities).Distinct().ToList();
        var owners = await sql.OwnersAsync(tx, keys, cancellationToken);
        var stored = await sql.LoadAsync(tx, [.. owners.Values.Distinct()], cancellationToken);
        foreach (var profile in stored.Values)
        {
            profile.Identities.UnionWith(profile.StoredIdentities!);
            profile.Tokens = new Dictionary<string, string>(profile.StoredTokens!, StringComparer.Ordinal);
        }
        var holder = new Dictionary<(string Namespace, string Value), BatchProfile>(keys.Count);
        foreach (var (identity, owner) in owners)
        {
            holder[identity] = stored[owner];
        }

        var profiles = new List<BatchProfile>(lines.Count);
        var listed = new HashSet<BatchProfile>(ReferenceEqualityComparer.Instance);
        var now = time.GetUtcNow().UtcDateTime;
        foreach (var line in lines)
        {
            (line.Profile, line.Clash, line.Error) = (null, null, null);
            // The profile the line's identities name (a loop, not LINQ: this runs for every line of an import).
            BatchProfile? found = null;
            var clash = false;
            foreach (var identity in line.Identities)
            {
                if (holder.TryGetValue(identity, out var owner))
                {
                    clash |= found is not null && !ReferenceEquals(found, owner);
                    found ??= owner;
                }
            }
            if (clash)
            {
                line.Clash = [.. line.Identities.Where(holder.ContainsKey).Select(i => (i.Namespace, i.Value, holder[i]))];
                continue;
            }

            var profile = found ?? new BatchProfile { CreatedAt = now };
            Apply(profile, line, holder, now);
            line.Profile = profile;
            if (listed.Add(profile))
            {
                profiles.Add(profile);
            }
        }
        return profiles;
    }

    /// <summary>What a single upsert does (ProfileService): identities, push tokens, attributes and test flag replaced; consent a line leaves out kept.</summary>
    private static void Apply(BatchProfile profile, Line line, Dictionary<(string Namespace, string Value), BatchProfile> holder, DateTime now)
    {
        foreach (var identity in profile.Identities.Where(i => !line.Identities.Contains(i)).ToList())
        {
            profile.Identities.Remove(identity);
            if (holder.TryGetValue(identity, out var owner) && ReferenceEquals(owner, profile))
            {
                holder.Remove(identity);
            }
        }
        foreach (var identity in line.Identities)
        {
            profile.Identities.Add(identity);
            holder[identity] = profile;
        }

        var request = line.Request!;
        profile.Tokens = request.PushTokens is null or { Count: 0 }
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : request.PushTokens.DistinctBy(t => t.Token).ToDictionary(t => t.Token!, t => t.Platform!, StringComparer.Ordinal);
        profile.Attributes = line.Attributes;
        // As the upsert: consent the line does not mention is kept (a new profile starts consenting).
        profile.ConsentEmail = request.Consent?.Email ?? profile.ConsentEmail;
        profile.ConsentPush = request.Consent?.Push ?? profile.ConsentPush;
        profile.IsTest = request.TestProfile ?? false;
        profile.UpdatedAt = now;
        profile.Written = true;
    }

    /// <summary>The single upsert's 409, worded the same: which identity belongs to which profile.</summary>
    private static string ClashError(List<(string Namespace, string Value, BatchProfile Owner)> clash)
    {
        var first = clash[0].Owner;
        var other = clash.First(c => !ReferenceEquals(c.Owner, first));
        var described = string.Join(", ", clash.Select(c => $"{c.Namespace} '{c.Value}' → profile {c.Owner.Id}"));
        return $"identities.{other.Namespace}: These identities belong to different profiles ({described}); one profile cannot take them all.";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The import batch of lines {First}-{Last} was refused by the database; its lines are written one by one")]
    private static partial void LogBatchRefused(ILogger logger, long first, long last, Exception exception);
}
