using JourneyWorker.Data;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime;

/// <summary>What a batch of claimed instances needs, read in a handful of set-based queries instead of several per instance.</summary>
public sealed record InstanceBatch(List<InstanceRun> Runs, IReadOnlySet<string> SuppressedAddresses);

public static class InstanceBatchLoader
{
    public static async Task<InstanceBatch> LoadAsync(
        JourneyDbContext db, JourneyCatalog catalog, IReadOnlyCollection<long> ids, string owner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Only what is still ours: a claim can be lost to a stop, a deletion or an expired lease.
        var instances = await db.JourneyInstances.AsNoTracking()
            .Where(i => ids.Contains(i.Id) && i.LeaseOwner == owner)
            .OrderBy(i => i.Id)
            .ToListAsync(cancellationToken);
        var runs = instances.Select(i => new InstanceRun(i, now)).ToList();
        if (runs.Count == 0)
        {
            return new InstanceBatch(runs, new HashSet<string>());
        }

        foreach (var versionId in instances.Select(i => i.JourneyVersionId).Distinct())
        {
            var journey = await catalog.GetAsync(db, versionId, cancellationToken);
            foreach (var run in runs.Where(r => r.Instance.JourneyVersionId == versionId))
            {
                run.Journey = journey;
            }
        }

        var profileIds = instances.Select(i => i.ProfileId).Distinct().ToList();
        var profiles = await LoadProfilesAsync(db, profileIds, cancellationToken);
        var byInstance = runs.ToDictionary(r => r.Instance.Id);
        foreach (var run in runs)
        {
            run.Profile = profiles.GetValueOrDefault(run.Instance.ProfileId);
        }

        var instanceIds = byInstance.Keys.ToList();
        var outbox = await db.OutboxMessages.AsNoTracking().Where(m => instanceIds.Contains(m.InstanceId)).ToListAsync(cancellationToken);
        foreach (var message in outbox)
        {
            byInstance[message.InstanceId].Outbox[message.NodeId] = message;
        }

        // Reactions that came before the instance reaches its reaction node (rare, so the set is small);
        // one arriving later still is caught inside the commit (InstanceBatchWriter).
        var reactions = await db.MessageReactions.AsNoTracking()
            .Join(db.OutboxMessages, r => r.OutboxMessageId, m => m.Id, (r, m) => new { m.InstanceId, m.NodeId, r.Kind })
            .Where(x => instanceIds.Contains(x.InstanceId))
            .ToListAsync(cancellationToken);
        foreach (var reaction in reactions)
        {
            byInstance[reaction.InstanceId].Reactions.Add((reaction.NodeId, reaction.Kind));
        }

        var hashes = profiles.Values.Select(ProfileAddresses.Email).OfType<string>().Select(ProfileAddresses.SuppressionKey).Distinct().ToList();
        var suppressed = hashes.Count == 0
            ? []
            : await db.EmailSuppressions.AsNoTracking().Where(s => hashes.Contains(s.AddressHash)).Select(s => s.AddressHash).ToListAsync(cancellationToken);
        return new InstanceBatch(runs, suppressed.ToHashSet(StringComparer.Ordinal));
    }

    private const string ProfilesSql = """
        SELECT "Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest" FROM "Profiles" WHERE "Id" IN (SELECT value FROM json_each($ids));
        SELECT "Id", "ProfileId", "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" IN (SELECT value FROM json_each($ids));
        SELECT "Id", "ProfileId", "Token", "Platform", "RetiredAt" FROM "PushTokens" WHERE "ProfileId" IN (SELECT value FROM json_each($ids));
        """;

    /// <summary>The profiles with their identities and push tokens, by id, in one round of three indexed lookups.</summary>
    private static async Task<Dictionary<long, Profile>> LoadProfilesAsync(JourneyDbContext db, List<long> ids, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = ProfilesSql;
        command.AddParameter("$ids", System.Text.Json.JsonSerializer.Serialize(ids));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var profiles = new Dictionary<long, Profile>(ids.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            var profile = new Profile
            {
                Id = reader.GetInt64(0),
                Attributes = reader.GetString(1),
                ConsentEmail = reader.GetBoolean(2),
                ConsentPush = reader.GetBoolean(3),
                IsTest = reader.GetBoolean(4),
            };
            profiles[profile.Id] = profile;
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (profiles.TryGetValue(reader.GetInt64(1), out var profile))
            {
                profile.Identities.Add(new ProfileIdentity { Id = reader.GetInt64(0), ProfileId = profile.Id, Namespace = reader.GetString(2), Value = reader.GetString(3) });
            }
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (profiles.TryGetValue(reader.GetInt64(1), out var profile))
            {
                profile.PushTokens.Add(new PushToken
                {
                    Id = reader.GetInt64(0),
                    ProfileId = profile.Id,
                    Token = reader.GetString(2),
                    Platform = reader.GetString(3),
                    RetiredAt = reader.IsDBNull(4) ? null : reader.GetDateTime(4),
                });
            }
        }
        return profiles;
    }
}
