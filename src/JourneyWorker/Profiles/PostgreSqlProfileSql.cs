using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Profiles;

/// <summary>
/// The import's statements on PostgreSQL: one statement per table and batch, its rows passed as parallel arrays and
/// expanded by unnest, so that a batch of thousands of lines costs a handful of round trips. New profiles take their
/// ids from the table's sequence first, so identities and tokens can be written in the same set-based way.
/// </summary>
public sealed class PostgreSqlProfileSql : ProfileSql
{
    private const string Owners = """
        SELECT i."Namespace", i."Value", i."ProfileId"
        FROM unnest(CAST(@namespaces AS text[]), CAST(@values AS text[])) AS k("Namespace", "Value")
        JOIN "ProfileIdentities" i ON i."Namespace" = k."Namespace" AND i."Value" = k."Value"
        """;

    private const string Consents = """SELECT "Id", "ConsentEmail", "ConsentPush" FROM "Profiles" WHERE "Id" = ANY(CAST(@ids AS bigint[]))""";
    private const string Identities = """SELECT "ProfileId", "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" = ANY(CAST(@ids AS bigint[]))""";
    private const string Tokens = """SELECT "ProfileId", "Token", "Platform" FROM "PushTokens" WHERE "ProfileId" = ANY(CAST(@ids AS bigint[]))""";

    private const string NewIds = """SELECT nextval(pg_get_serial_sequence('"Profiles"', 'Id')) FROM generate_series(1, @count)""";

    private const string InsertProfiles = """
        INSERT INTO "Profiles" ("Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest", "CreatedAt", "UpdatedAt")
        SELECT * FROM unnest(CAST(@ids AS bigint[]), CAST(@attributes AS text[]), CAST(@consentEmail AS boolean[]),
                             CAST(@consentPush AS boolean[]), CAST(@isTest AS boolean[]), CAST(@createdAt AS timestamptz[]),
                             CAST(@updatedAt AS timestamptz[]))
        """;

    private const string UpdateProfiles = """
        UPDATE "Profiles" AS p
        SET "Attributes" = u."Attributes", "ConsentEmail" = u."ConsentEmail", "ConsentPush" = u."ConsentPush",
            "IsTest" = u."IsTest", "UpdatedAt" = u."UpdatedAt"
        FROM unnest(CAST(@ids AS bigint[]), CAST(@attributes AS text[]), CAST(@consentEmail AS boolean[]),
                    CAST(@consentPush AS boolean[]), CAST(@isTest AS boolean[]), CAST(@updatedAt AS timestamptz[]))
             AS u("Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest", "UpdatedAt")
        WHERE p."Id" = u."Id"
        """;

    private const string DeleteIdentities = """
        DELETE FROM "ProfileIdentities" AS i
        USING unnest(CAST(@ids AS bigint[]), CAST(@namespaces AS text[]), CAST(@values AS text[])) AS d("ProfileId", "Namespace", "Value")
        WHERE i."ProfileId" = d."ProfileId" AND i."Namespace" = d."Namespace" AND i."Value" = d."Value"
        """;

    private const string InsertIdentities = """
        INSERT INTO "ProfileIdentities" ("ProfileId", "Namespace", "Value")
        SELECT * FROM unnest(CAST(@ids AS bigint[]), CAST(@namespaces AS text[]), CAST(@values AS text[]))
        """;

    private const string DeleteTokens = """
        DELETE FROM "PushTokens" AS t
        USING unnest(CAST(@ids AS bigint[]), CAST(@tokens AS text[])) AS d("ProfileId", "Token")
        WHERE t."ProfileId" = d."ProfileId" AND t."Token" = d."Token"
        """;

    private const string InsertTokens = """
        INSERT INTO "PushTokens" ("ProfileId", "Token", "Platform")
        SELECT * FROM unnest(CAST(@ids AS bigint[]), CAST(@tokens AS text[]), CAST(@platforms AS text[]))
        """;

    private const string UpdatePlatforms = """
        UPDATE "PushTokens" AS t SET "Platform" = u."Platform"
        FROM unnest(CAST(@ids AS bigint[]), CAST(@tokens AS text[]), CAST(@platforms AS text[])) AS u("ProfileId", "Token", "Platform")
        WHERE t."ProfileId" = u."ProfileId" AND t."Token" = u."Token"
        """;

    public override async Task<Dictionary<(string Namespace, string Value), long>> OwnersAsync(
        StoreTransaction tx, IReadOnlyCollection<(string Namespace, string Value)> identities, CancellationToken cancellationToken)
    {
        var found = new Dictionary<(string Namespace, string Value), long>(identities.Count);
        if (identities.Count == 0)
        {
            return found;
        }
        await using var command = tx.Command(Owners);
        command.AddParameter("@namespaces", identities.Select(i => i.Namespace).ToArray());
        command.AddParameter("@values", identities.Select(i => i.Value).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        }
        return found;
    }

    public override async Task<Dictionary<long, BatchProfile>> LoadAsync(StoreTransaction tx, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, BatchProfile>(ids.Count);
        if (ids.Count == 0)
        {
            return found;
        }
        var array = ids.ToArray();
        await using (var command = tx.Command(Consents))
        {
            command.AddParameter("@ids", array);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var profile = Stored(found, reader.GetInt64(0));
                (profile.ConsentEmail, profile.ConsentPush) = (reader.GetBoolean(1), reader.GetBoolean(2));
            }
        }
        await using (var command = tx.Command(Identities))
        {
            command.AddParameter("@ids", array);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                Stored(found, reader.GetInt64(0)).StoredIdentities!.Add((reader.GetString(1), reader.GetString(2)));
            }
        }
        await using (var command = tx.Command(Tokens))
        {
            command.AddParameter("@ids", array);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                Stored(found, reader.GetInt64(0)).StoredTokens![reader.GetString(1)] = reader.GetString(2);
            }
        }
        return found;
    }

    protected override async Task InsertProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        if (profiles.Count == 0)
        {
            return;
        }
        await using (var command = tx.Command(NewIds))
        {
            command.AddParameter("@count", profiles.Count);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            for (var i = 0; await reader.ReadAsync(cancellationToken); i++)
            {
                profiles[i].Id = reader.GetInt64(0);
            }
        }
        await using var insert = tx.Command(InsertProfiles);
        AddProfileArrays(insert, profiles);
        insert.AddParameter("@createdAt", profiles.Select(p => p.CreatedAt).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task UpdateProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        if (profiles.Count == 0)
        {
            return;
        }
        await using var command = tx.Command(UpdateProfiles);
        AddProfileArrays(command, profiles);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddProfileArrays(System.Data.Common.DbCommand command, List<BatchProfile> profiles)
    {
        command.AddParameter("@ids", profiles.Select(p => p.Id).ToArray());
        command.AddParameter("@attributes", profiles.Select(p => p.Attributes).ToArray());
        command.AddParameter("@consentEmail", profiles.Select(p => p.ConsentEmail).ToArray());
        command.AddParameter("@consentPush", profiles.Select(p => p.ConsentPush).ToArray());
        command.AddParameter("@isTest", profiles.Select(p => p.IsTest).ToArray());
        command.AddParameter("@updatedAt", profiles.Select(p => p.UpdatedAt).ToArray());
    }

    protected override Task DeleteIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken) =>
        IdentitiesAsync(tx, DeleteIdentities, rows, cancellationToken);

    protected override Task InsertIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken) =>
        IdentitiesAsync(tx, InsertIdentities, rows, cancellationToken);

    private static async Task IdentitiesAsync(StoreTransaction tx, string text, List<IdentityRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await using var command = tx.Command(text);
        command.AddParameter("@ids", rows.Select(r => r.ProfileId).ToArray());
        command.AddParameter("@namespaces", rows.Select(r => r.Namespace).ToArray());
        command.AddParameter("@values", rows.Select(r => r.Value).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override Task DeleteTokensAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken) =>
        TokensAsync(tx, DeleteTokens, rows, platforms: false, cancellationToken);

    protected override Task InsertTokensAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken) =>
        TokensAsync(tx, InsertTokens, rows, platforms: true, cancellationToken);

    protected override Task UpdatePlatformsAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken) =>
        TokensAsync(tx, UpdatePlatforms, rows, platforms: true, cancellationToken);

    private static async Task TokensAsync(StoreTransaction tx, string text, List<TokenRow> rows, bool platforms, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await using var command = tx.Command(text);
        command.AddParameter("@ids", rows.Select(r => r.ProfileId).ToArray());
        command.AddParameter("@tokens", rows.Select(r => r.Token).ToArray());
        if (platforms)
        {
            command.AddParameter("@platforms", rows.Select(r => r.Platform).ToArray());
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
