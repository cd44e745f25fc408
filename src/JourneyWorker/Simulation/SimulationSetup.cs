using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Expressions;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Simulation;

/// <summary>What a request refers to, read from the database (only read: a simulation writes nothing), or what is wrong with it.</summary>
public sealed record SimulationSetupResult(SimulationInput? Input, Dictionary<string, string[]>? Errors);

/// <summary>
/// Turns a checked request into a <see cref="SimulationInput"/>: the journey's current version (its draft if it has one, as
/// validate and test mode take it), the profiles, the frequency rules and suppressions in force, the event configurations
/// the scripted events must match, and the profiles each event goes to.
/// </summary>
public static class SimulationSetup
{
    public const int DefaultLimit = 10_000;

    public static async Task<CompiledJourney?> JourneyAsync(JourneyDbContext db, Guid journeyId, CancellationToken cancellationToken)
    {
        var journey = await db.Journeys.AsNoTracking().FirstOrDefaultAsync(j => j.Id == journeyId, cancellationToken);
        if (journey is null)
        {
            return null;
        }
        var versions = await db.JourneyVersions.AsNoTracking().Where(v => v.JourneyId == journeyId).OrderBy(v => v.Version).ToListAsync(cancellationToken);
        var version = JourneyService.Current(versions);
        return new CompiledJourney(version, journey.Name, CompiledJourney.Parse(version.Definition));
    }

    public static async Task<SimulationSetupResult> LoadAsync(
        JourneyDbContext db, CompiledJourney journey, SimulationRequest request, DateTimeOffset start, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var horizon = IsoDuration.TryParse(request.Horizon, out var given) ? given
            : journey.Timeout < SimulationRequestValidator.MaxHorizon ? journey.Timeout : SimulationRequestValidator.MaxHorizon;
        var limit = request.Limit ?? DefaultLimit;

        var profiles = await ProfilesAsync(db, journey, request.Profiles, limit, start, errors, cancellationToken);
        if (profiles is null)
        {
            return new SimulationSetupResult(null, errors);
        }

        var hashes = profiles.Select(ProfileAddresses.Email).OfType<string>().Select(ProfileAddresses.SuppressionKey).Distinct().ToList();
        var suppressed = hashes.Count == 0 ? new Dictionary<string, string>()
            : await db.EmailSuppressions.AsNoTracking().Where(s => EF.Parameter(hashes).Contains(s.AddressHash))
                .ToDictionaryAsync(s => s.AddressHash, s => s.Reason, StringComparer.Ordinal, cancellationToken);
        var caps = await db.FrequencyRules.AsNoTracking().OrderBy(r => r.Position)
            .Select(r => new FrequencyCap(r.Channel, r.Max, r.Per)).ToListAsync(cancellationToken);
        var configs = await db.EventConfigs.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken);
        var snapshot = new ConfigSnapshot("simulation", [.. configs.Select(c => new CachedEventConfig(
            c, EventFieldChecker.ParseFields(c.Fields), c.Condition is not null && ExpressionParser.TryParse(c.Condition, out var e, out _) ? e : null))]);

        var events = Events(request.Events ?? [], profiles, snapshot, start, horizon, errors);
        return errors.Count > 0
            ? new SimulationSetupResult(null, errors)
            : new SimulationSetupResult(new SimulationInput(journey, profiles, caps, suppressed, events, start, horizon,
                request.Seed ?? 1, SimulationRates.From(request.Reactions)), null);
    }

    private static async Task<List<Profile>?> ProfilesAsync(
        JourneyDbContext db, CompiledJourney journey, JsonNode? requested, int limit, DateTimeOffset now,
        Dictionary<string, string[]> errors, CancellationToken cancellationToken)
    {
        if (requested is JsonArray list)
        {
            // Listed profiles get ids of their own: nothing in the database is theirs, and the draws need a stable key.
            return [.. list.Take(limit).Select((node, i) => ToProfile(node!.Deserialize<ProfileRequest>(JsonSerializerOptions.Web)!, i + 1, now))];
        }

        // "test": the test profiles the journey's entry takes in test mode (its audience's, when it reads one).
        var testOnly = requested?.GetValue<string>() == SimulationRequestValidator.Test;
        var audienceId = journey.Start is { Type: NodeTypes.ReadAudience or NodeTypes.AudienceQualification, Audience: { } a } && Guid.TryParse(a, out var id) ? id : (Guid?)null;
        var audience = audienceId is null ? null : await db.Audiences.AsNoTracking().FirstOrDefaultAsync(x => x.Id == audienceId, cancellationToken);
        List<long> ids;
        if (audience is not null)
        {
            ids = await AudienceQuery.ReadIdsAsync(db, audience.Rule, 0, limit, testOnly, now, cancellationToken);
        }
        else if (testOnly && audienceId is null)
        {
            ids = await db.Profiles.AsNoTracking().Where(p => p.IsTest).OrderBy(p => p.Id).Select(p => p.Id).Take(limit).ToListAsync(cancellationToken);
        }
        else
        {
            errors["profiles"] = [audienceId is null
                ? "The journey does not start by reading an audience: simulate it with \"profiles\": \"test\" or a list of profiles."
                : $"The journey's audience {audienceId} does not exist."];
            return null;
        }

        // Three plain reads stitched in memory: an Include per chunk of ids cost EF seconds for 10,000 profiles.
        var profiles = new Dictionary<long, Profile>(ids.Count);
        foreach (var chunk in ids.Chunk(5_000))
        {
            foreach (var profile in await db.Profiles.AsNoTracking().Where(p => EF.Parameter(chunk).Contains(p.Id)).ToListAsync(cancellationToken))
            {
                profiles[profile.Id] = profile;
            }
            foreach (var identity in await db.ProfileIdentities.AsNoTracking().Where(i => EF.Parameter(chunk).Contains(i.ProfileId)).ToListAsync(cancellationToken))
            {
                profiles[identity.ProfileId].Identities.Add(identity);
            }
            foreach (var token in await db.PushTokens.AsNoTracking().Where(t => EF.Parameter(chunk).Contains(t.ProfileId)).ToListAsync(cancellationToken))
            {
                profiles[token.ProfileId].PushTokens.Add(token);
            }
        }
        return [.. profiles.Values.OrderBy(p => p.Id)];
    }

    public static Profile ToProfile(ProfileRequest request, long id, DateTimeOffset now) => new()
    {
        Id = id,
        Attributes = (request.Attributes ?? []).ToJsonString(),
        ConsentEmail = request.Consent?.Email ?? true,
        ConsentPush = request.Consent?.Push ?? true,
        IsTest = request.TestProfile ?? false,
        CreatedAt = now.UtcDateTime,
        UpdatedAt = now.UtcDateTime,
        Identities = [.. (request.Identities ?? []).Select(i => new ProfileIdentity { ProfileId = id, Namespace = i.Key, Value = i.Value })],
        PushTokens = [.. (request.PushTokens ?? []).Select((t, n) => new PushToken { Id = n + 1, ProfileId = id, Token = t.Token!, Platform = t.Platform! })],
    };

    private static List<SimulatedEvent> Events(
        List<ScriptedEvent?> scripted, List<Profile> profiles, ConfigSnapshot configs, DateTimeOffset start, TimeSpan horizon,
        Dictionary<string, string[]> errors)
    {
        var byIdentity = new Dictionary<(string, string), Profile>();
        foreach (var profile in profiles)
        {
            foreach (var identity in profile.Identities)
            {
                byIdentity.TryAdd((identity.Namespace, identity.Value), profile);
            }
        }

        var events = new List<SimulatedEvent>(scripted.Count);
        for (var i = 0; i < scripted.Count; i++)
        {
            var e = scripted[i]!;
            var at = IsoDuration.TryParse(e.At, out var offset) ? offset : TimeSpan.Zero;
            if (at >= horizon)
            {
                errors[$"events[{i}].at"] = [$"'at' ({e.At}) must fall before the horizon ({IsoDuration.Format(horizon)})."];
            }

            IReadOnlyList<Profile> targets = profiles;
            if (e.Profile != SimulationRequestValidator.Everyone)
            {
                var colon = e.Profile!.IndexOf(':', StringComparison.Ordinal);
                if (byIdentity.TryGetValue((e.Profile[..colon], e.Profile[(colon + 1)..]), out var one))
                {
                    targets = [one];
                }
                else
                {
                    errors[$"events[{i}].profile"] = [$"No simulated profile has the identity '{e.Profile}'."];
                }
            }

            var check = IntakeCheck.Run(configs, e.Payload!, start + at);
            if (check.Errors is { } problems)
            {
                errors[$"events[{i}].payload"] = [.. problems.SelectMany(p => p.Value.Select(m => $"{p.Key}: {m}"))];
            }
            else if (check.Matched.Count == 0)
            {
                errors[$"events[{i}].payload"] = ["The payload matches no event configuration."];
            }
            events.Add(new SimulatedEvent(i, at, targets, e.Share ?? 1, e.Payload!, check.Matched));
        }
        return events;
    }
}
