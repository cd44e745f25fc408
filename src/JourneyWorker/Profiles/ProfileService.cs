using System.Text.Json.Nodes;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Profiles;

/// <summary>Why an upsert could not be applied; mapped to 400/409 by the endpoints and to a line error by the import.</summary>
public sealed record UpsertProblem(int Status, string Field, string Message);

public sealed class ProfileService(JourneyDbContext db, InstanceStore instances, AudienceMembership membership, TimeProvider time)
{
    public Task<Profile?> FindAsync(string ns, string identity, CancellationToken cancellationToken) =>
        db.Profiles
            .Include(p => p.Identities)
            .Include(p => p.PushTokens)
            .Where(p => p.Identities.Any(i => i.Namespace == ns && i.Value == identity))
            .AsSplitQuery()
            .FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Creates or replaces the profile that owns any of the given identities. The identities of the
    /// request replace the stored ones; an identity owned by another profile is a conflict.
    /// Changes are tracked, not saved.
    /// </summary>
    public async Task<(Profile? Profile, UpsertProblem? Problem)> UpsertAsync(
        (string Namespace, string Value)? anchor, ProfileRequest request, CancellationToken cancellationToken)
    {
        var identities = new Dictionary<string, string>(request.Identities ?? [], StringComparer.Ordinal);
        if (anchor is { } a)
        {
            if (identities.TryGetValue(a.Namespace, out var other) && other != a.Value)
            {
                return (null, new(400, $"identities.{a.Namespace}",
                    $"The body names {a.Namespace} '{other}' but the path names '{a.Value}': the path identity must be one of the profile's identities."));
            }
            identities[a.Namespace] = a.Value;
        }

        if (identities.Count == 0)
        {
            return (null, new(400, "identities", "A profile needs at least one identity."));
        }

        var namespaces = identities.Keys.ToList();
        var values = identities.Values.ToList();
        var candidates = await db.ProfileIdentities
            .Where(i => namespaces.Contains(i.Namespace) && values.Contains(i.Value))
            .ToListAsync(cancellationToken);
        var owners = candidates
            .Where(i => identities.TryGetValue(i.Namespace, out var v) && v == i.Value)
            .ToList();
        var ownerIds = owners.Select(o => o.ProfileId).Distinct().ToList();
        if (ownerIds.Count > 1)
        {
            var clash = owners.First(o => o.ProfileId != ownerIds[0]);
            var described = string.Join(", ", owners.Select(o => $"{o.Namespace} '{o.Value}' → profile {o.ProfileId}"));
            return (null, new(409, $"identities.{clash.Namespace}",
                $"These identities belong to different profiles ({described}); one profile cannot take them all."));
        }

        if (ownerIds.Count == 0)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var created = new Profile { CreatedAt = now };
            db.Profiles.Add(created);
            Apply(created, identities, request, now);
            return (created, null);
        }

        var profile = await db.Profiles.Include(p => p.Identities).Include(p => p.PushTokens).AsSplitQuery()
            .SingleAsync(p => p.Id == ownerIds[0], cancellationToken);
        Apply(profile, identities, request, time.GetUtcNow().UtcDateTime);
        return (profile, null);
    }

    /// <summary>
    /// Saves the tracked changes of <paramref name="profile"/> in one transaction with what they change in audience
    /// qualification (membership, admissions). Returns how many journey instances the write admitted.
    /// </summary>
    public Task<int> SaveAsync(Profile profile, CancellationToken cancellationToken) =>
        instances.WriteAsync(db, async tx =>
        {
            await membership.BeginProfileWriteAsync(tx, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            return await membership.ApplyAsync(tx, [profile.Id], cancellationToken);
        }, cancellationToken);

    private static void Apply(Profile profile, IReadOnlyDictionary<string, string> identities, ProfileRequest request, DateTime now)
    {
        ApplyIdentities(profile, identities);
        ApplyPushTokens(profile, request.PushTokens ?? []);
        profile.Attributes = (request.Attributes ?? []).ToJsonString();
        // Consent that the request does not mention is kept: a routine re-sync must never re-subscribe
        // someone who unsubscribed. New profiles start consenting, as in the contract's example.
        profile.ConsentEmail = request.Consent?.Email ?? (profile.Id == 0 || profile.ConsentEmail);
        profile.ConsentPush = request.Consent?.Push ?? (profile.Id == 0 || profile.ConsentPush);
        profile.IsTest = request.TestProfile ?? false;
        profile.UpdatedAt = now;
    }

    private static void ApplyIdentities(Profile profile, IReadOnlyDictionary<string, string> identities)
    {
        profile.Identities.RemoveAll(i => !(identities.TryGetValue(i.Namespace, out var v) && v == i.Value));
        foreach (var (ns, value) in identities)
        {
            if (!profile.Identities.Any(i => i.Namespace == ns && i.Value == value))
            {
                profile.Identities.Add(new ProfileIdentity { Namespace = ns, Value = value });
            }
        }
    }

    private static void ApplyPushTokens(Profile profile, List<PushTokenRequest> tokens)
    {
        var wanted = tokens.DistinctBy(t => t.Token).ToDictionary(t => t.Token!, t => t.Platform!, StringComparer.Ordinal);
        profile.PushTokens.RemoveAll(t => !wanted.ContainsKey(t.Token));
        foreach (var (token, platform) in wanted)
        {
            var existing = profile.PushTokens.FirstOrDefault(t => t.Token == token);
            if (existing is null)
            {
                profile.PushTokens.Add(new PushToken { Token = token, Platform = platform });
            }
            else
            {
                existing.Platform = platform;
            }
        }
    }

    /// <summary>Forgets the person: the profile and everything recorded about it, in one transaction.</summary>
    public async Task<bool> DeleteAsync(long profileId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var deleted = await instances.WriteAsync(db, async tx =>
        {
            await membership.BeginProfileWriteAsync(tx, cancellationToken);
            await tx.DeleteInstancesAsync(i => i.ProfileId == profileId, now, cancellationToken);
            await db.StoredEvents.Where(e => e.ProfileId == profileId).ExecuteDeleteAsync(cancellationToken);
            // Events that matched no configuration are stored without a profile, yet may name one of its identities:
            // they are the profile's personal data too. Matched as JSON string literals, encoded as the intake stores them.
            foreach (var value in await db.ProfileIdentities.Where(i => i.ProfileId == profileId).Select(i => i.Value).ToListAsync(cancellationToken))
            {
                var literal = System.Text.Json.JsonSerializer.Serialize(value);
                await db.StoredEvents.Where(e => e.ProfileId == null && e.Payload.Contains(literal)).ExecuteDeleteAsync(cancellationToken);
            }
            // Its addresses stay suppressed (never mailed again), but only by hash.
            var profile = await db.Profiles.AsNoTracking().Include(p => p.Identities).FirstOrDefaultAsync(p => p.Id == profileId, cancellationToken);
            if (profile is not null)
            {
                var addresses = profile.Identities.Where(i => i.Namespace == "email").Select(i => i.Value).ToList();
                if (ProfileAddresses.Email(profile) is { } address)
                {
                    addresses.Add(address);
                }
                await Suppressions.ForgetAddressesAsync(db, addresses, cancellationToken);
            }
            await membership.ProfileDeletedAsync(tx, profileId, cancellationToken);
            await db.PushTokens.Where(t => t.ProfileId == profileId).ExecuteDeleteAsync(cancellationToken);
            await db.ProfileIdentities.Where(i => i.ProfileId == profileId).ExecuteDeleteAsync(cancellationToken);
            return await db.Profiles.Where(p => p.Id == profileId).ExecuteDeleteAsync(cancellationToken);
        }, cancellationToken);
        return deleted > 0;
    }

    public static ProfileResponse ToResponse(Profile p) => new(
        p.Id,
        p.Identities.OrderBy(i => i.Namespace, StringComparer.Ordinal).ToDictionary(i => i.Namespace, i => i.Value),
        JsonNode.Parse(p.Attributes) as JsonObject ?? [],
        [.. p.PushTokens.Select(t => new PushTokenResponse(t.Token, t.Platform, t.RetiredAt is null))],
        new ConsentResponse(p.ConsentEmail, p.ConsentPush),
        p.IsTest,
        p.CreatedAt,
        p.UpdatedAt);
}
