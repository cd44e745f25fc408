using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Infrastructure;

namespace JourneyWorker.Events;

public sealed record EventAccepted(Guid Id, IReadOnlyList<string> Matched, int Routed, string? Reason = null);

/// <summary>The outcome of intake: accepted (202) or refused with the problems per field (400).</summary>
public sealed record IntakeResult(EventAccepted? Accepted, Dictionary<string, string[]>? FieldErrors);

/// <summary>
/// Event intake, the per-request part: match the payload against the cached event configurations and check it against
/// the matched configurations' fields, in memory, and queue it. Everything that needs the database — the profile behind
/// each identity, the idempotency key, storing and routing (resume waiting instances, admit into journeys that start with
/// it) — is the <see cref="EventWriter"/>'s group commit, once per batch instead of once per request; the answer comes
/// once that transaction has committed. The writer also checks that the configurations did not change meanwhile (on
/// another worker too) and checks the event again if they did, so an answer reflects the configurations it was stored under.
/// </summary>
public sealed class EventIntake(EventWriter writer, EventConfigCache configCache, TimeProvider time)
{
    /// <summary>Accepts <paramref name="payload"/>, parsed from <paramref name="text"/>, which is stored as it is.</summary>
    public async Task<IntakeResult> AcceptAsync(JsonObject payload, string text, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // The event's own span under the request's: the instances it admits or resumes carry its context, so their
        // steps and sends continue this trace.
        using var activity = JourneyTelemetry.Source.StartActivity("journeyworker.event");
        var configs = configCache.Current ?? await configCache.LoadAsync(cancellationToken);
        var now = time.GetUtcNow();
        var check = IntakeCheck.Run(configs, payload, now);
        if (check.Errors is { } errors)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "The event does not fit its configuration.");
            return new IntakeResult(null, errors);
        }
        var pending = new PendingEvent(Guid.CreateVersion7(), now, idempotencyKey, payload, text, check) { TraceParent = JourneyTelemetry.CurrentTraceParent() };
        activity?.SetTag("journeyworker.event.id", pending.Id.ToString());
        var result = await writer.WriteAsync(pending, cancellationToken);
        if (activity is not null && result.Accepted is { } accepted)
        {
            activity.SetTag("journeyworker.event.matched", string.Join(',', accepted.Matched));
            activity.SetTag("journeyworker.event.routed", accepted.Routed);
        }
        return result;
    }
}

/// <summary>An identity a matched configuration found in the payload (null: none), to be tied to a profile by the writer.</summary>
public sealed record EventIdentity(EventConfig Config, string? Value);

/// <summary>What the configurations of <see cref="Stamp"/> say of a payload: the matched ones and their identities, or the field problems.</summary>
public sealed record IntakeCheck(string Stamp, IReadOnlyList<string> Matched, IReadOnlyList<EventIdentity> Identities, Dictionary<string, string[]>? Errors)
{
    public static IntakeCheck Run(ConfigSnapshot configs, JsonObject payload, DateTimeOffset now)
    {
        var candidates = configs.Configs.Where(c => Matches(c, payload, now)).ToList();
        Dictionary<string, string[]>? errors = null;
        foreach (var (config, fields, _) in candidates)
        {
            foreach (var problem in EventFieldChecker.Check(payload, fields))
            {
                errors ??= new Dictionary<string, string[]>(StringComparer.Ordinal);
                errors[config.Name] = [.. errors.GetValueOrDefault(config.Name, []), problem];
            }
        }
        return new IntakeCheck(configs.Stamp, [.. candidates.Select(c => c.Config.Name)],
            [.. candidates.Select(c => new EventIdentity(c.Config, Lookup(payload, c.Config.ProfileIdentifier)))], errors);
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
}

/// <summary>
/// One event as intake prepared it, queued for the writer. The writer ties its identities to profiles
/// (<see cref="Profiles"/>, <see cref="Reasons"/>) and completes <see cref="Done"/> after the transaction that stored it
/// has committed (or fails it if it could not be stored).
/// </summary>
public sealed class PendingEvent(Guid id, DateTimeOffset receivedAt, string? idempotencyKey, JsonObject payload, string text, IntakeCheck check)
{
    public Guid Id { get; } = id;
    public DateTimeOffset ReceivedAt { get; } = receivedAt;
    public string? IdempotencyKey { get; } = idempotencyKey;
    public JsonObject PayloadObject { get; } = payload;
    /// <summary>The payload as received.</summary>
    public string Payload { get; } = text;

    /// <summary>What the configurations said of it; checked again by the writer if they changed since.</summary>
    public IntakeCheck Check { get; set; } = check;

    public IReadOnlyList<string> Matched => Check.Matched;

    /// <summary>The W3C trace context it was accepted in (null: not traced), stored with the instances it admits or resumes.</summary>
    public string? TraceParent { get; init; }

    /// <summary>Instances this event resumed and admitted in the transaction that stored it (set by the writer, for metrics).</summary>
    public int Resumed { get; set; }

    public int Admitted { get; set; }

    /// <summary>The profile each matched configuration found (set by the writer).</summary>
    public IReadOnlyList<(string EventName, long ProfileId)> Profiles { get; set; } = [];

    /// <summary>Why some matched configuration could not be tied to a profile (set by the writer).</summary>
    public IReadOnlyList<string> Reasons { get; set; } = [];

    public TaskCompletionSource<IntakeResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Ties the identities to the profiles found for them (by namespace and value).</summary>
    public void Resolve(IReadOnlyDictionary<(string Namespace, string Value), long> profiles)
    {
        var found = new List<(string, long)>();
        var reasons = new List<string>();
        foreach (var (config, identity) in Check.Identities)
        {
            if (identity is null)
            {
                reasons.Add($"{config.Name}: the payload has no '{config.ProfileIdentifier}' field to identify the profile.");
            }
            else if (profiles.TryGetValue((config.Namespace, identity), out var profileId))
            {
                found.Add((config.Name, profileId));
            }
            else
            {
                reasons.Add($"{config.Name}: no profile has the identity {config.Namespace} '{identity}'.");
            }
        }
        Profiles = found;
        Reasons = reasons;
    }
}
