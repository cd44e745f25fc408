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
        var now = time.GetUtcNow();
        string? stamp = null;
        if (sql.BatchesReads && connection.CanCreateBatch && configCache.Current is { } cached)
        {
            var (answer, read) = await AcceptBatchedAsync(connection, cached, payload, idempotencyKey, now, cancellationToken);
            if (answer is not null)
            {
                return answer;
            }
            stamp = read;
        }
        else if (idempotencyKey is not null && await EventBatch.PreviousAsync(connection, sql, idempotencyKey, cancellationToken) is { } previous)
        {
            return new IntakeResult(previous, null);
        }

        var configs = await configCache.GetAsync(connection, sql, cancellationToken, stamp);
        var (candidates, errors) = Check(configs, payload, now);
        if (errors.Count > 0)
        {
            return new IntakeResult(null, errors);
        }

        // Each matched configuration names the profile in its own way.
        var profiles = new List<(string EventName, long ProfileId)>();
        var reasons = new List<string>();
        foreach (var (config, found) in Identities(candidates, payload))
        {
            if (found is not { } identity)
            {
                reasons.Add(NoIdentity(config));
                continue;
            }
            if (await ProfileAsync(connection, config.Namespace, identity, cancellationToken) is not { } profileId)
            {
                reasons.Add(NoProfile(config, identity));
                continue;
            }
            profiles.Add((config.Name, profileId));
        }
        await connection.CloseAsync();
        return await WriteAsync(payload, idempotencyKey, now, candidates, profiles, reasons, cancellationToken);
    }

    /// <summary>
    /// Every read of a request in one round trip (PostgreSQL): the earlier answer for the key, the configurations'
    /// stamp, and the profile of each identity the cached configurations find in the payload. Matching and checks run
    /// on the cached configurations first; if the stamp shows they changed, nothing of it is used and the stamp read is
    /// returned for the caller to reload with (a stale guess only costs reads that are thrown away).
    /// </summary>
    private async Task<(IntakeResult? Answer, string Stamp)> AcceptBatchedAsync(
        DbConnection connection, (string Stamp, IReadOnlyList<CachedEventConfig> Configs) cached, JsonObject payload, string? idempotencyKey,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (candidates, errors) = Check(cached.Configs, payload, now);
        var identities = errors.Count > 0 ? [] : Identities(candidates, payload).ToList();

        await using var batch = connection.CreateBatch();
        if (idempotencyKey is not null)
        {
            batch.Add(sql.Previous, ("@key", idempotencyKey));
        }
        batch.Add(sql.ConfigStamp);
        foreach (var (config, identity) in identities.Where(i => i.Identity is not null))
        {
            batch.Add(sql.ProfileByIdentity, ("@ns", config.Namespace), ("@value", identity));
        }

        var profileIds = new List<long?>(identities.Count);
        string stamp;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            if (idempotencyKey is not null)
            {
                if (await EventBatch.ReadPreviousAsync(reader, cancellationToken) is { } previous)
                {
                    return (new IntakeResult(previous, null), "");
                }
                await reader.NextResultAsync(cancellationToken);
            }
            await reader.ReadAsync(cancellationToken);
            stamp = reader.GetString(0);
            foreach (var (_, identity) in identities)
            {
                if (identity is null)
                {
                    profileIds.Add(null);
                    continue;
                }
                await reader.NextResultAsync(cancellationToken);
                profileIds.Add(await reader.ReadAsync(cancellationToken) ? reader.GetInt64(0) : null);
            }
        }
        if (stamp != cached.Stamp)
        {
            return (null, stamp);
        }
        if (errors.Count > 0)
        {
            return (new IntakeResult(null, errors), stamp);
        }

        var profiles = new List<(string EventName, long ProfileId)>();
        var reasons = new List<string>();
        for (var i = 0; i < identities.Count; i++)
        {
            var (config, identity) = identities[i];
            if (identity is null)
            {
                reasons.Add(NoIdentity(config));
            }
            else if (profileIds[i] is not { } profileId)
            {
                reasons.Add(NoProfile(config, identity));
            }
            else
            {
                profiles.Add((config.Name, profileId));
            }
        }
        await connection.CloseAsync();
        return (await WriteAsync(payload, idempotencyKey, now, candidates, profiles, reasons, cancellationToken), stamp);
    }

    /// <summary>The configurations the payload matches, and the problems of each with the payload's fields.</summary>
    private static (List<CachedEventConfig> Candidates, Dictionary<string, string[]> Errors) Check(
        IReadOnlyList<CachedEventConfig> configs, JsonObject payload, DateTimeOffset now)
    {
        var candidates = configs.Where(c => Matches(c, payload, now)).ToList();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (config, fields, _) in candidates)
        {
            foreach (var problem in EventFieldChecker.Check(payload, fields))
            {
                errors[$"{config.Name}"] = [.. errors.GetValueOrDefault(config.Name, []), problem];
            }
        }
        return (candidates, errors);
    }

    /// <summary>The identity each matched configuration finds in the payload (null: none), in the configurations' order.</summary>
    private static IEnumerable<(EventConfig Config, string? Identity)> Identities(List<CachedEventConfig> candidates, JsonObject payload) =>
        candidates.Select(c => (c.Config, Lookup(payload, c.Config.ProfileIdentifier)));

    private static string NoIdentity(EventConfig config) => $"{config.Name}: the payload has no '{config.ProfileIdentifier}' field to identify the profile.";

    private static string NoProfile(EventConfig config, string identity) => $"{config.Name}: no profile has the identity {config.Namespace} '{identity}'.";

    private async Task<IntakeResult> WriteAsync(
        JsonObject payload, string? idempotencyKey, DateTimeOffset now, List<CachedEventConfig> candidates,
        List<(string EventName, long ProfileId)> profiles, List<string> reasons, CancellationToken cancellationToken)
    {
        var matched = candidates.Select(c => c.Config).ToList();

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
