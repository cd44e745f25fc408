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

        var admitted = 0;
        long after = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await CanAdmitAsync(db, versionId, testOnly, cancellationToken))
            {
                break;
            }

            var started = time.GetTimestamp();
            var now = time.GetUtcNow();
            var members = AudienceQuery.Where(rule, now, db.Dialect());
            var (count, next) = await store.WriteAsync(db,
                tx => tx.AdmitMembersAsync(journey, members, after, chunk, testOnly, now, cancellationToken), cancellationToken);
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

        if (!testOnly && !cancellationToken.IsCancellationRequested)
        {
            await db.JourneyVersions.Where(v => v.Id == versionId)
                .ExecuteUpdateAsync(s => s.SetProperty(v => v.AudienceReadAt, time.GetUtcNow().UtcDateTime), cancellationToken);
        }
        LogRead(logger, versionId, admitted);
        return admitted;
    }

    private static Task<bool> CanAdmitAsync(JourneyDbContext db, Guid versionId, bool testOnly, CancellationToken cancellationToken) =>
        db.JourneyVersions.AnyAsync(v => v.Id == versionId
            && (testOnly ? v.Status == JourneyStatus.Draft && v.TestMode : v.Status == JourneyStatus.Live), cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Read Audience for journey version {VersionId}: {Admitted} profiles admitted")]
    private static partial void LogRead(ILogger logger, Guid versionId, int admitted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read Audience for journey version {VersionId}: audience {AudienceId} no longer exists")]
    private static partial void LogAudienceMissing(ILogger logger, Guid versionId, Guid audienceId);
}
