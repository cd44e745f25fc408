using System.Text.Json;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>Why a lifecycle call could not be applied: 404, 409 or 422 (with the validation result).</summary>
public sealed record LifecycleProblem(int Status, string Detail, JourneyValidationResult? Validation = null);

/// <summary>Journey versions and their lifecycle: draft → (test) → live → closed → finished, or stopped.</summary>
public sealed class JourneyService(
    JourneyDbContext db, JourneyValidator validator, JourneySchedules schedules, InstanceStore instances, AudienceMembership membership, TimeProvider time)
{
    public async Task<JourneyVersion> CreateAsync(JourneyDefinition definition, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var journey = new Journey { Id = Guid.CreateVersion7(), Name = definition.Name!, CreatedAt = now };
        var version = NewVersion(journey.Id, 1, definition, now);
        journey.Versions.Add(version);
        db.Journeys.Add(journey);
        await db.SaveChangesAsync(cancellationToken);
        return version;
    }

    public async Task<(Journey? Journey, List<JourneyVersion> Versions)> LoadAsync(Guid id, CancellationToken cancellationToken)
    {
        var journey = await db.Journeys.FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
        if (journey is null)
        {
            return (null, []);
        }
        var versions = await db.JourneyVersions.Where(v => v.JourneyId == id).OrderBy(v => v.Version).ToListAsync(cancellationToken);
        return (journey, versions);
    }

    /// <summary>The version a client means by the journey: its draft if it has one, else the newest.</summary>
    public static JourneyVersion Current(List<JourneyVersion> versions) =>
        versions.LastOrDefault(v => v.Status == JourneyStatus.Draft) ?? versions[^1];

    public async Task<LifecycleProblem?> UpdateDraftAsync(Guid id, JourneyDefinition definition, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return NotFound(id);
        }
        var draft = versions.LastOrDefault(v => v.Status == JourneyStatus.Draft);
        if (draft is null)
        {
            return new(409, $"Journey {id} has no draft: version {versions[^1].Version} is {versions[^1].Status} and cannot change. POST /api/journeys/{id}/versions makes a new draft.");
        }
        draft.Definition = Serialize(definition);
        Touch(draft);
        journey.Name = definition.Name!;
        // A draft in test mode may change the audience its qualification entry tracks.
        await ChangeAsync(_ => db.SaveChangesAsync(cancellationToken), cancellationToken);
        if (draft.TestMode)
        {
            await schedules.ScheduleAsync(db, draft.Id, cancellationToken);
        }
        return null;
    }

    public async Task<(JourneyVersion? Version, LifecycleProblem? Problem)> NewDraftAsync(Guid id, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return (null, NotFound(id));
        }
        if (versions.Any(v => v.Status == JourneyStatus.Draft))
        {
            return (null, new(409, $"Journey {id} already has a draft (version {versions.Last(v => v.Status == JourneyStatus.Draft).Version})."));
        }
        var source = versions.LastOrDefault(v => v.Status == JourneyStatus.Live) ?? versions[^1];
        var version = NewVersion(id, versions[^1].Version + 1, CompiledJourney.Parse(source.Definition), time.GetUtcNow().UtcDateTime);
        db.JourneyVersions.Add(version);
        await db.SaveChangesAsync(cancellationToken);
        return (version, null);
    }

    public async Task<(JourneyValidationResult? Result, LifecycleProblem? Problem)> ValidateAsync(Guid id, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        return journey is null
            ? (null, NotFound(id))
            : (await validator.ValidateAsync(CompiledJourney.Parse(Current(versions).Definition), id, cancellationToken), null);
    }

    public async Task<LifecycleProblem?> SetTestModeAsync(Guid id, TestModeRequest request, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return NotFound(id);
        }
        var draft = versions.LastOrDefault(v => v.Status == JourneyStatus.Draft);
        if (draft is null)
        {
            return new(409, $"Journey {id} has no draft to test; test mode applies to drafts.");
        }

        if (request.Enabled)
        {
            var validation = await validator.ValidateAsync(CompiledJourney.Parse(draft.Definition), id, cancellationToken);
            if (!validation.Valid)
            {
                return new(422, "The journey is not valid; fix the errors before testing it.", validation);
            }
            draft.TestMode = true;
            draft.WaitOverride = IsoDuration.TryParse(request.WaitOverride, out var wait) ? wait : null;
            Touch(draft);
            await ChangeAsync(_ => db.SaveChangesAsync(cancellationToken), cancellationToken);
            await schedules.ScheduleAsync(db, draft.Id, cancellationToken);
            return null;
        }

        await ChangeAsync(async tx =>
        {
            await EndTestAsync(tx, draft, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
        }, cancellationToken);
        return null;
    }

    public async Task<LifecycleProblem?> PublishAsync(Guid id, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return NotFound(id);
        }
        var draft = versions.LastOrDefault(v => v.Status == JourneyStatus.Draft);
        if (draft is null)
        {
            return new(409, $"Journey {id} has no draft to publish.");
        }
        var validation = await validator.ValidateAsync(CompiledJourney.Parse(draft.Definition), id, cancellationToken);
        if (!validation.Valid)
        {
            return new(422, "The journey is not valid and cannot be published.", validation);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var closed = versions.Where(v => v.Status == JourneyStatus.Live).ToList();
        await ChangeAsync(async tx =>
        {
            foreach (var live in closed)
            {
                // New entries go to the new version; instances on the old one finish there.
                live.Status = JourneyStatus.Closed;
                live.EndedAt = now;
                Touch(live);
            }
            await EndTestAsync(tx, draft, cancellationToken);
            draft.Status = JourneyStatus.Live;
            draft.PublishedAt = now;
            Touch(draft);
            await db.SaveChangesAsync(cancellationToken);
            await tx.FinishClosedVersionsAsync(closed.Select(v => v.Id), now, cancellationToken);
        }, cancellationToken);
        foreach (var live in closed)
        {
            await schedules.UnscheduleAsync(live.Id, cancellationToken);
        }
        await schedules.ScheduleAsync(db, draft.Id, cancellationToken);
        return null;
    }

    public async Task<LifecycleProblem?> CloseAsync(Guid id, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return NotFound(id);
        }
        var live = versions.LastOrDefault(v => v.Status == JourneyStatus.Live);
        if (live is null)
        {
            return new(409, $"Journey {id} has no live version to close.");
        }
        var now = time.GetUtcNow().UtcDateTime;
        live.Status = JourneyStatus.Closed;
        live.EndedAt = now;
        Touch(live);
        await ChangeAsync(async tx =>
        {
            await db.SaveChangesAsync(cancellationToken);
            // With nothing running on it, a closed version is finished at once.
            await tx.FinishClosedVersionsAsync([live.Id], now, cancellationToken);
        }, cancellationToken);
        await schedules.UnscheduleAsync(live.Id, cancellationToken);
        return null;
    }

    public async Task<LifecycleProblem?> StopAsync(Guid id, CancellationToken cancellationToken)
    {
        var (journey, versions) = await LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return NotFound(id);
        }
        var running = versions.Where(v => v.Status is JourneyStatus.Live or JourneyStatus.Closed).ToList();
        if (running.Count == 0)
        {
            return new(409, $"Journey {id} has no live or closed version to stop.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        foreach (var version in running)
        {
            version.Status = JourneyStatus.Stopped;
            version.EndedAt = now;
            Touch(version);
        }
        await ChangeAsync(async tx =>
        {
            await db.SaveChangesAsync(cancellationToken);
            await tx.ExitVersionsAsync(running.Select(v => v.Id), "journeyStopped", "The journey was stopped.", now, cancellationToken);
        }, cancellationToken);
        foreach (var version in running)
        {
            await schedules.UnscheduleAsync(version.Id, cancellationToken);
        }
        return null;
    }

    /// <summary>
    /// A lifecycle change in one transaction with what it changes in audience qualification: an audience that a live or
    /// test-mode qualification journey starts to use has its current members recorded (admitting nobody), one no
    /// longer used loses them. Profile writes wait for it (see <see cref="AudienceMembership.LockTrackingAsync"/>).
    /// </summary>
    private Task ChangeAsync(Func<StoreTransaction, Task> change, CancellationToken cancellationToken) =>
        instances.WriteAsync(db, async tx =>
        {
            var tracked = await membership.LockTrackingAsync(tx, cancellationToken);
            await change(tx);
            await membership.SyncTrackingAsync(tx, tracked, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>Turning test mode off removes the test instances and, with them, their counts.</summary>
    private async Task EndTestAsync(StoreTransaction tx, JourneyVersion draft, CancellationToken cancellationToken)
    {
        draft.TestMode = false;
        draft.WaitOverride = null;
        Touch(draft);
        await schedules.UnscheduleAsync(draft.Id, cancellationToken);
        var versionId = draft.Id;
        await tx.DeleteInstancesAsync(i => i.JourneyVersionId == versionId && i.IsTest, time.GetUtcNow().UtcDateTime, cancellationToken);
    }

    /// <summary>
    /// Marks a version changed. UpdatedAt keys the compiled versions the engine caches, so it must move on every
    /// change even when the clock has not (same tick, a clock set back), and by a step every provider keeps:
    /// PostgreSQL stores microseconds, so a one-tick move would be lost there.
    /// </summary>
    private void Touch(JourneyVersion version)
    {
        var now = time.GetUtcNow().UtcDateTime;
        now = now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond));
        version.UpdatedAt = now > version.UpdatedAt ? now : version.UpdatedAt.AddMicroseconds(1);
    }

    private static JourneyVersion NewVersion(Guid journeyId, int number, JourneyDefinition definition, DateTime now) => new()
    {
        Id = Guid.CreateVersion7(),
        JourneyId = journeyId,
        Version = number,
        Status = JourneyStatus.Draft,
        Definition = Serialize(definition),
        CreatedAt = now,
        UpdatedAt = now,
    };

    private static string Serialize(JourneyDefinition definition) => JsonSerializer.Serialize(definition, JsonSerializerOptions.Web);

    private static LifecycleProblem NotFound(Guid id) => new(404, $"No journey has the id {id}.");
}
