using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Events;

public sealed record EventAccepted(Guid Id, IReadOnlyList<string> Matched, int Routed, string? Reason = null);

/// <summary>The outcome of intake: accepted (202) or refused with the problems per field (400).</summary>
public sealed record IntakeResult(EventAccepted? Accepted, Dictionary<string, string[]>? FieldErrors);

/// <summary>
/// Event intake: match the payload against every event configuration, check it against the
/// matched configurations' fields, find the profile, store the event durably and route it (resume
/// waiting instances, admit into journeys that start with it) in one transaction.
/// </summary>
public sealed class EventIntake(
    JourneyDbContext db,
    JourneyCatalog catalog,
    WaitResumer resumer,
    JourneyMetrics metrics,
    EventConfigCache configCache,
    WriteGate writes,
    TimeProvider time)
{

    public async Task<IntakeResult> AcceptAsync(JsonObject payload, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is not null && await PreviousAsync(idempotencyKey, cancellationToken) is { } previous)
        {
            return new IntakeResult(previous, null);
        }

        var now = time.GetUtcNow();
        var configs = await configCache.GetAsync(db, cancellationToken);
        var candidates = configs.Where(c => Matches(c, payload, now)).ToList();
        var matched = candidates.Select(c => c.Config).ToList();

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (config, fields, _) in candidates)
        {
            foreach (var problem in EventFieldChecker.Check(payload, fields))
            {
                errors[$"{config.Name}"] = [.. errors.GetValueOrDefault(config.Name, []), problem];
            }
        }
        if (errors.Count > 0)
        {
            return new IntakeResult(null, errors);
        }

        // Each matched configuration names the profile in its own way.
        var profiles = new List<(EventConfig Config, long ProfileId)>();
        var reasons = new List<string>();
        foreach (var config in matched)
        {
            var identity = Lookup(payload, config.ProfileIdentifier);
            if (identity is null)
            {
                reasons.Add($"{config.Name}: the payload has no '{config.ProfileIdentifier}' field to identify the profile.");
                continue;
            }
            var profileId = await db.ProfileIdentities.Where(i => i.Namespace == config.Namespace && i.Value == identity)
                .Select(i => (long?)i.ProfileId).FirstOrDefaultAsync(cancellationToken);
            if (profileId is null)
            {
                reasons.Add($"{config.Name}: no profile has the identity {config.Namespace} '{identity}'.");
                continue;
            }
            profiles.Add((config, profileId.Value));
        }

        var json = payload.ToJsonString();
        var stored = new StoredEvent
        {
            Id = Guid.CreateVersion7(),
            ReceivedAt = now.UtcDateTime,
            IdempotencyKey = idempotencyKey,
            Payload = json,
            Matched = JsonSerializer.Serialize(matched.Select(c => c.Name)),
            ProfileId = profiles.Count > 0 ? profiles[0].ProfileId : null,
        };

        // One write transaction at a time in this process (see WriteGate).
        return await writes.RunAsync(() => StoreAndRouteAsync(stored, matched, profiles, reasons, idempotencyKey, json, now, cancellationToken), cancellationToken);
    }

    private async Task<IntakeResult> StoreAndRouteAsync(
        StoredEvent stored, List<EventConfig> matched, List<(EventConfig Config, long ProfileId)> profiles, List<string> reasons,
        string? idempotencyKey, string json, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.StoredEvents.Add(stored);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (idempotencyKey is not null)
        {
            // Another request with the same key won the race: answer what it answered.
            await transaction.RollbackAsync(cancellationToken);
            db.ChangeTracker.Clear();
            return new IntakeResult(await PreviousAsync(idempotencyKey, cancellationToken), null);
        }

        var routed = 0;
        foreach (var (config, profileId) in profiles)
        {
            routed += await resumer.ResumeAsync(db, profileId, $"event:{config.Name}", config.Name, json, now,
                $"'{config.Name}' event {stored.Id}", cancellationToken);
            routed += await AdmitAsync(config.Name, profileId, json, now, cancellationToken);
        }

        if (matched.Count == 0)
        {
            reasons.Add("No event configuration matches this payload.");
        }
        else if (routed == 0 && profiles.Count > 0)
        {
            reasons.Add("No journey instance waits for this event and no live journey starts with it for this profile.");
        }
        stored.Routed = routed;
        stored.Reason = reasons.Count == 0 ? null : string.Join(" ", reasons);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        metrics.EventsReceived(1);
        return new IntakeResult(ToAccepted(stored), null);
    }

    /// <summary>Journeys (live, or drafts in test mode for test profiles) whose entry is this event admit the profile.</summary>
    private async Task<int> AdmitAsync(string eventName, long profileId, string payload, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var candidates = await db.JourneyVersions.AsNoTracking()
            .Where(v => v.Status == JourneyStatus.Live || (v.Status == JourneyStatus.Draft && v.TestMode))
            .Where(v => v.Definition.Contains(eventName))
            .Select(v => v.Id)
            .ToListAsync(cancellationToken);
        var admitted = 0;
        foreach (var versionId in candidates)
        {
            var journey = await catalog.GetAsync(db, versionId, cancellationToken);
            if (journey?.Start is not { Type: NodeTypes.Event } start || start.Event != eventName)
            {
                continue;
            }
            var context = new JsonObject { ["events"] = new JsonObject { [eventName] = JsonNode.Parse(payload) } }.ToJsonString();
            var testOnly = journey.Version.Status == JourneyStatus.Draft;
            admitted += (await JourneyAdmission.AdmitAsync(db, journey, [profileId], testOnly, now, $"'{eventName}' event", context, cancellationToken)).Count;
        }
        return admitted;
    }

    private static bool Matches(CachedEventConfig cached, JsonObject payload, DateTimeOffset now) =>
        cached.Config.IdType == "systemGenerated"
            ? payload["eventID"] is JsonValue v && v.TryGetValue<string>(out var id) && id == cached.Config.EventId
            : cached.Condition is not null && ExpressionEvaluator.IsTrue(cached.Condition, payload, now);

    private static string? Lookup(JsonObject payload, string path) =>
        ExpressionEvaluator.Resolve(payload, path) is JsonValue value
            ? value.GetValueKind() switch
            {
                JsonValueKind.String => value.GetValue<string>(),
                JsonValueKind.Number => value.ToJsonString(),
                _ => null,
            }
            : null;

    private async Task<EventAccepted?> PreviousAsync(string key, CancellationToken cancellationToken)
    {
        var previous = await db.StoredEvents.AsNoTracking().FirstOrDefaultAsync(e => e.IdempotencyKey == key, cancellationToken);
        return previous is null ? null : ToAccepted(previous);
    }

    private static EventAccepted ToAccepted(StoredEvent e) =>
        new(e.Id, JsonSerializer.Deserialize<List<string>>(e.Matched) ?? [], e.Routed, e.Reason);
}
