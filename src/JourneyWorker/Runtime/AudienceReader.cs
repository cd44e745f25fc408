using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Runtime;

/// <summary>
/// Read Audience: evaluates the audience rule in SQL and admits its members in chunks, one
/// transaction each, streaming by profile id so that memory does not grow with the audience.
/// Re-running it (a repeated schedule or a read interrupted by a restart) skips profiles already in.
/// </summary>
public sealed partial class AudienceReader(
    IServiceScopeFactory scopes,
    JourneyCatalog catalog,
    InstanceStore store,
    TimeProvider time,
    IOptions<RuntimeOptions> options,
    ILogger<AudienceReader> logger)
{
    public async Task<int> ReadAsync(Guid versionId, bool testOnly, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        var journey = await catalog.GetAsync(db, versionId, cancellationToken);
        if (journey?.Start is not { Type: NodeTypes.ReadAudience } start || !Guid.TryParse(start.Audience, out var audienceId))
        {
            return 0;
        }

        var rule = await db.Audiences.Where(a => a.Id == audienceId).Select(a => a.Rule).FirstOrDefaultAsync(cancellationToken);
        if (rule is null)
        {
            LogAudienceMissing(logger, versionId, audienceId);
            return 0;
        }

        var chunk = options.Value.AudienceChunkSize;
        if (start.Throttle is { } perSecond)
        {
            chunk = (int)Math.Clamp(perSecond, 1, chunk);
        }

        // On PostgreSQL the rule and the inserts are the server's work, and one chunk at a time keeps one of its cores busy:
        // lanes over ranges of profile ids keep more of them busy. SQLite has one writer; a throttle paces one lane.
        var lanes = store.OverlapsCommits && start.Throttle is null ? options.Value.AudienceReadConnections : 1;
        var ranges = await RangesAsync(db, lanes, cancellationToken);
        int admitted;
        if (ranges.Count == 1)
        {
            admitted = await ReadWindowsAsync(db, journey, start, rule, chunk, testOnly, cancellationToken);
        }
        else
        {
            // A lane that fails stops the others: the read is run again whole, skipping whoever is in.
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var reads = ranges.Select(range => ReadLaneAsync(journey, start, rule, range, chunk, testOnly, failed)).ToList();
            admitted = (await Task.WhenAll(reads)).Sum();
        }

        if (!testOnly && !cancellationToken.IsCancellationRequested)
        {
            await db.JourneyVersions.Where(v => v.Id == versionId)
                .ExecuteUpdateAsync(s => s.SetProperty(v => v.AudienceReadAt, time.GetUtcNow().UtcDateTime), cancellationToken);
        }
        LogRead(logger, versionId, admitted);
        return admitted;
    }

    /// <summary>
    /// Splits the profile ids into <paramref name="lanes"/> ranges of equal width (after, up to]; the last is open, so that
    /// profiles created while the read runs are read as a single lane reads them.
    /// </summary>
    private static async Task<List<(long After, long UpTo)>> RangesAsync(JourneyDbContext db, int lanes, CancellationToken cancellationToken)
    {
        if (lanes <= 1)
        {
            return [(0, long.MaxValue)];
        }
        var first = await db.Profiles.MinAsync(p => (long?)p.Id, cancellationToken);
        var last = await db.Profiles.MaxAsync(p => (long?)p.Id, cancellationToken);
        if (first is not { } low || last is not { } high || high - low < lanes)
        {
            return [(0, long.MaxValue)];
        }
        var width = (high - low + 1) / lanes;
        var ranges = new List<(long After, long UpTo)>(lanes);
        for (var i = 0; i < lanes; i++)
        {
            var after = i == 0 ? 0 : low - 1 + (i * width);
            ranges.Add((after, i == lanes - 1 ? long.MaxValue : low - 1 + ((i + 1) * width)));
        }
        return ranges;
    }

    /// <summary>
    /// One lane over every profile id, in windows of <see cref="WindowChunks"/> chunks' worth of ids. A chunk fills only
    /// once it has found its members, so over a rule that few profiles match one chunk would read the whole profile table in
    /// one write transaction (on SQLite, holding the only writer from timers and intake); a window bounds what one chunk reads.
    /// </summary>
    private async Task<int> ReadWindowsAsync(
        JourneyDbContext db, CompiledJourney journey, NodeDefinition start, string rule, int chunk, bool testOnly, CancellationToken cancellationToken)
    {
        var width = (long)chunk * WindowChunks;
        var admitted = 0;
        long after = 0, last = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (after >= last)
            {
                // Profiles created while the read runs are read too, as an open range would read them.
                last = await db.Profiles.MaxAsync(p => (long?)p.Id, cancellationToken) ?? 0;
                if (after >= last)
                {
                    break;
                }
            }
            var (count, stopped) = await ReadRangeAsync(db, journey, start, rule, (after, after + width), chunk, testOnly, cancellationToken);
            admitted += count;
            if (stopped)
            {
                break;
            }
            after += width;
        }
        return admitted;
    }

    /// <summary>Ids one chunk of a single-lane read may look through at most, in chunks: members are rarely sparser than one in eight.</summary>
    private const int WindowChunks = 8;

    private async Task<int> ReadLaneAsync(
        CompiledJourney journey, NodeDefinition start, string rule, (long After, long UpTo) range, int chunk, bool testOnly, CancellationTokenSource failed)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
            return (await ReadRangeAsync(db, journey, start, rule, range, chunk, testOnly, failed.Token)).Admitted;
        }
        catch
        {
            await failed.CancelAsync();
            throw;
        }
    }

    /// <summary>
    /// Admits the members of one range of profile ids, chunk after chunk, each chunk its own transaction; stopped when the
    /// journey took no more members (paused, closed) before the range ran out.
    /// </summary>
    private async Task<(int Admitted, bool Stopped)> ReadRangeAsync(
        JourneyDbContext db, CompiledJourney journey, NodeDefinition start, string rule, (long After, long UpTo) range, int chunk, bool testOnly,
        CancellationToken cancellationToken)
    {
        var versionId = journey.Version.Id;
        var admitted = 0;
        var after = range.After;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await CanAdmitAsync(db, versionId, testOnly, cancellationToken))
            {
                return (admitted, true);
            }

            var started = time.GetTimestamp();
            var now = time.GetUtcNow();
            var members = AudienceQuery.Where(rule, now, db.Dialect());
            // Lanes write beside each other (and beside the runner and the intake): on PostgreSQL an admission that meets
            // another transaction's admission of the same profile waits for it and then skips that profile.
            var (count, next) = await store.WriteBesideAsync(db,
                tx => tx.AdmitMembersAsync(journey, members, after, range.UpTo, chunk, testOnly, now, cancellationToken), cancellationToken);
            admitted += count;
            if (next is not { } last)
            {
                break;
            }
            after = last;

            if (start.Throttle is { } rate)
            {
                // Spread the chunk over the time the throttle allows for it.
                var budget = TimeSpan.FromSeconds(count / rate) - time.GetElapsedTime(started);
                if (budget > TimeSpan.Zero)
                {
                    await Task.Delay(budget, time, cancellationToken);
                }
            }
        }
        return (admitted, false);
    }

    private static Task<bool> CanAdmitAsync(JourneyDbContext db, Guid versionId, bool testOnly, CancellationToken cancellationToken) =>
        db.JourneyVersions.AnyAsync(v => v.Id == versionId
            && (testOnly ? v.Status == JourneyStatus.Draft && v.TestMode : v.Status == JourneyStatus.Live), cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Read Audience for journey version {VersionId}: {Admitted} profiles admitted")]
    private static partial void LogRead(ILogger logger, Guid versionId, int admitted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read Audience for journey version {VersionId}: audience {AudienceId} no longer exists")]
    private static partial void LogAudienceMissing(ILogger logger, Guid versionId, Guid audienceId);
}
