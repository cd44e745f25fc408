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
        var instances = await LoadInstancesAsync(db, ids, owner, cancellationToken);
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

        // Only what the batch's journeys can use: a batch of timers has no messages, reactions or addresses to look at.
        var journeys = runs.Select(r => r.Journey).OfType<CompiledJourney>().Distinct().ToList();
        if (!journeys.Any(j => j.HasMessages))
        {
            return new InstanceBatch(runs, new HashSet<string>());
        }

        var instanceIds = byInstance.Keys.ToList();
        var outbox = await db.OutboxMessages.AsNoTracking().Where(m => instanceIds.Contains(m.InstanceId)).ToListAsync(cancellationToken);
        foreach (var message in outbox)
        {
            byInstance[message.InstanceId].Outbox[message.NodeId] = message;
        }

        // Reactions that came before the instance reaches its reaction node (rare, so the set is small);
        // one arriving later still is caught inside the commit (InstanceBatchWriter).
        var reactions = !journeys.Any(j => j.HasReactions) ? [] : await db.MessageReactions.AsNoTracking()
            .Join(db.OutboxMessages, r => r.OutboxMessageId, m => m.Id, (r, m) => new { m.InstanceId, m.NodeId, r.Kind })
            .Where(x => instanceIds.Contains(x.InstanceId))
            .ToListAsync(cancellationToken);
        foreach (var reaction in reactions)
        {
            byInstance[reaction.InstanceId].Reactions.Add((reaction.NodeId, reaction.Kind));
        }

        var hashes = !journeys.Any(j => j.HasEmail) ? [] : profiles.Values.Select(ProfileAddresses.Email).OfType<string>().Select(ProfileAddresses.SuppressionKey).Distinct().ToList();
        var suppressed = hashes.Count == 0
            ? []
            : await db.EmailSuppressions.AsNoTracking().Where(s => hashes.Contains(s.AddressHash)).Select(s => s.AddressHash).ToListAsync(cancellationToken);
        return new InstanceBatch(runs, suppressed.ToHashSet(StringComparer.Ordinal));
    }

    private const string InstancesSql = """
        SELECT "Id", "JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "LeaseOwner", "LeaseUntil",
               "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "EndedAt", "EndReason"
        FROM "JourneyInstances" WHERE "Id" IN (SELECT value FROM json_each($ids)) AND "LeaseOwner" = $owner
        ORDER BY "Id"
        """;

    private static async Task<List<JourneyInstance>> LoadInstancesAsync(JourneyDbContext db, IReadOnlyCollection<long> ids, string owner, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = InstancesSql;
        command.AddParameter("$ids", System.Text.Json.JsonSerializer.Serialize(ids));
        command.AddParameter("$owner", owner);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var instances = new List<JourneyInstance>(ids.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            instances.Add(new JourneyInstance
            {
                Id = reader.GetInt64(0),
                JourneyId = reader.GetGuid(1),
                JourneyVersionId = reader.GetGuid(2),
                ProfileId = reader.GetInt64(3),
                Status = reader.GetString(4),
                NodeId = reader.IsDBNull(5) ? null : reader.GetString(5),
                DueAt = reader.IsDBNull(6) ? null : reader.GetInt64(6),
                WaitingFor = reader.IsDBNull(7) ? null : reader.GetString(7),
                LeaseOwner = reader.IsDBNull(8) ? null : reader.GetString(8),
                LeaseUntil = reader.IsDBNull(9) ? null : reader.GetInt64(9),
                Context = reader.GetString(10),
                IsTest = reader.GetBoolean(11),
                NextSeq = reader.GetInt32(12),
                DeadlineAt = reader.GetInt64(13),
                EnteredAt = reader.GetDateTime(14),
                EndedAt = reader.IsDBNull(15) ? null : reader.GetDateTime(15),
                EndReason = reader.IsDBNull(16) ? null : reader.GetString(16),
            });
        }
        return instances;
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
