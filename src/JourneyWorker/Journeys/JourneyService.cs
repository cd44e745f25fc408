using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Runtime;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>Why a lifecycle call could not be applied: 404, 409 or 422 (with the validation result).</summary>
public sealed record LifecycleProblem(int Status, string Detail, JourneyValidationResult? Validation = null);

/// <summary>Journey versions and their lifecycle: draft → (test) → live → closed → finished, or stopped.</summary>
public sealed class JourneyService(JourneyDbContext db, JourneyValidator validator, JourneySchedules schedules, TimeProvider time)
{
    public static readonly string[] Running = [InstanceStatus.Active, InstanceStatus.Waiting];

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
        await MarkFinishedAsync(versions, cancellationToken);
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
        await db.SaveChangesAsync(cancellationToken);
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
            : (await validator.ValidateAsync(CompiledJourney.Parse(Current(versions).Definition), cancellationToken), null);
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
            var validation = await validator.ValidateAsync(CompiledJourney.Parse(draft.Definition), cancellationToken);
            if (!validation.Valid)
            {
                return new(422, "The journey is not valid; fix the errors before testing it.", validation);
            }
            draft.TestMode = true;
            draft.WaitOverride = IsoDuration.TryParse(request.WaitOverride, out var wait) ? wait : null;
            Touch(draft);
            await db.SaveChangesAsync(cancellationToken);
            await schedules.ScheduleAsync(db, draft.Id, cancellationToken);
            return null;
        }

        await EndTestAsync(draft, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
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
        var validation = await validator.ValidateAsync(CompiledJourney.Parse(draft.Definition), cancellationToken);
        if (!validation.Valid)
        {
            return new(422, "The journey is not valid and cannot be published.", validation);
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var live in versions.Where(v => v.Status == JourneyStatus.Live))
        {
            // New entries go to the new version; instances on the old one finish there.
            live.Status = JourneyStatus.Closed;
            live.EndedAt = now;
            Touch(live);
            await schedules.UnscheduleAsync(live.Id, cancellationToken);
        }
        await EndTestAsync(draft, cancellationToken);
        draft.Status = JourneyStatus.Live;
        draft.PublishedAt = now;
        Touch(draft);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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
        live.Status = JourneyStatus.Closed;
        live.EndedAt = time.GetUtcNow().UtcDateTime;
        Touch(live);
        await db.SaveChangesAsync(cancellationToken);
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
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        foreach (var version in running)
        {
            version.Status = JourneyStatus.Stopped;
            version.EndedAt = now;
            Touch(version);
            await schedules.UnscheduleAsync(version.Id, cancellationToken);
        }
        await db.SaveChangesAsync(cancellationToken);
        var ids = running.Select(v => v.Id).ToList();
        await ExitInstancesAsync(ids, "journeyStopped", "The journey was stopped.", now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    /// <summary>Ends every running instance of the given versions now, recording why in each history.</summary>
    private async Task ExitInstancesAsync(List<Guid> versionIds, string reason, string detail, DateTime now, CancellationToken cancellationToken)
    {
        foreach (var versionId in versionIds.Select(Sql.Guid))
        {
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail")
                SELECT "Id", "NextSeq", COALESCE("NodeId", '-'), 'exited', {now}, {detail}
                FROM "JourneyInstances" WHERE "JourneyVersionId" = {versionId} AND "Status" IN ('active', 'waiting')
                """, cancellationToken);
        }
        await db.JourneyInstances
            .Where(i => versionIds.Contains(i.JourneyVersionId) && Running.Contains(i.Status))
            .ExecuteUpdateAsync(s => s
                .SetProperty(i => i.Status, InstanceStatus.Exited)
                .SetProperty(i => i.EndReason, reason)
                .SetProperty(i => i.EndedAt, now)
                .SetProperty(i => i.DueAt, (long?)null)
                .SetProperty(i => i.WaitingFor, (string?)null)
                .SetProperty(i => i.LeaseOwner, (string?)null)
                .SetProperty(i => i.NextSeq, i => i.NextSeq + 1), cancellationToken);
    }

    /// <summary>Turning test mode off removes the test instances and, with them, their counts.</summary>
    private async Task EndTestAsync(JourneyVersion draft, CancellationToken cancellationToken)
    {
        draft.TestMode = false;
        draft.WaitOverride = null;
        Touch(draft);
        await schedules.UnscheduleAsync(draft.Id, cancellationToken);
        await db.DeleteInstancesAsync(db.JourneyInstances.Where(i => i.JourneyVersionId == draft.Id && i.IsTest), cancellationToken);
    }

    /// <summary>A closed version whose last instance has ended is finished.</summary>
    private async Task MarkFinishedAsync(List<JourneyVersion> versions, CancellationToken cancellationToken)
    {
        var changed = false;
        foreach (var version in versions.Where(v => v.Status == JourneyStatus.Closed))
        {
            if (!await db.JourneyInstances.AnyAsync(i => i.JourneyVersionId == version.Id && Running.Contains(i.Status), cancellationToken))
            {
                version.Status = JourneyStatus.Finished;
                Touch(version);
                changed = true;
            }
        }
        if (changed)
        {
            await db.SaveChangesAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Marks a version changed. UpdatedAt keys the compiled versions the engine caches, so it must
    /// move on every change even when the clock has not (same tick, a clock set back).
    /// </summary>
    private void Touch(JourneyVersion version)
    {
        var now = time.GetUtcNow().UtcDateTime;
        version.UpdatedAt = now > version.UpdatedAt ? now : version.UpdatedAt.AddTicks(1);
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
