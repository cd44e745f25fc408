using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Expressions;

namespace JourneyWorker.Events;

public sealed record EventAccepted(Guid Id, IReadOnlyList<string> Matched, int Routed, string? Reason = null);

/// <summary>The outcome of intake: accepted (202) or refused with the problems per field (400).</summary>
public sealed record IntakeResult(EventAccepted? Accepted, Dictionary<string, string[]>? FieldErrors);

/// <summary>
/// Event intake, the per-request part: match the payload against every event configuration, check
/// it against the matched configurations' fields and find the profile, all reads. Storing and
/// routing (resume waiting instances, admit into journeys that start with it) is the
/// <see cref="EventWriter"/>'s group commit; the answer comes once that transaction has committed.
/// </summary>
public sealed class EventIntake(JourneyConnections connections, EventSql sql, EventWriter writer, EventConfigCache configCache, TimeProvider time)
{
    // Raw SQL on a pooled connection: these reads run on every request, where an EF context's
    // set-up and query pipeline would cost more than the queries themselves.

    public async Task<IntakeResult> AcceptAsync(JsonObject payload, string? idempotencyKey, CancellationToken cancellationToken)
    {
        await using var connection = connections.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        if (idempotencyKey is not null && await EventBatch.PreviousAsync(connection, sql, idempotencyKey, cancellationToken) is { } previous)
        {
            return new IntakeResult(previous, null);
        }

        var now = time.GetUtcNow();
        var configs = await configCache.GetAsync(connection, sql, cancellationToken);
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
        var profiles = new List<(string EventName, long ProfileId)>();
        var reasons = new List<string>();
        foreach (var config in matched)
        {
            var identity = Lookup(payload, config.ProfileIdentifier);
            if (identity is null)
            {
                reasons.Add($"{config.Name}: the payload has no '{config.ProfileIdentifier}' field to identify the profile.");
                continue;
            }
            var profileId = await ProfileAsync(connection, config.Namespace, identity, cancellationToken);
            if (profileId is null)
            {
                reasons.Add($"{config.Name}: no profile has the identity {config.Namespace} '{identity}'.");
                continue;
            }
            profiles.Add((config.Name, profileId.Value));
        }
        await connection.CloseAsync();

        var pending = new PendingEvent(Guid.CreateVersion7(), now, idempotencyKey, payload.ToJsonString(),
            [.. matched.Select(c => c.Name)], profiles, reasons);
        return new IntakeResult(await writer.WriteAsync(pending, cancellationToken), null);
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

    private async Task<long?> ProfileAsync(DbConnection connection, string ns, string value, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql.ProfileByIdentity;
        command.AddParameter("@ns", ns);
        command.AddParameter("@value", value);
        return await command.ExecuteScalarAsync(cancellationToken) is long id ? id : null;
    }
}

/// <summary>
/// One event as intake prepared it, queued for the writer. <see cref="Done"/> completes after the
/// transaction that stored it has committed (or fails if it could not be stored).
/// </summary>
public sealed class PendingEvent(
    Guid id, DateTimeOffset receivedAt, string? idempotencyKey, string payload,
    IReadOnlyList<string> matched, IReadOnlyList<(string EventName, long ProfileId)> profiles, IReadOnlyList<string> reasons)
{
    public Guid Id { get; } = id;
    public DateTimeOffset ReceivedAt { get; } = receivedAt;
    public string? IdempotencyKey { get; } = idempotencyKey;
    public string Payload { get; } = payload;
    public IReadOnlyList<string> Matched { get; } = matched;
    public IReadOnlyList<(string EventName, long ProfileId)> Profiles { get; } = profiles;
    /// <summary>Why some matched configuration could not be tied to a profile, found before the write.</summary>
    public IReadOnlyList<string> Reasons { get; } = reasons;
    public TaskCompletionSource<EventAccepted> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
