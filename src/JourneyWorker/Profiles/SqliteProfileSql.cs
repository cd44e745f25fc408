using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Profiles;

/// <summary>
/// The import's statements on SQLite: each prepared once per batch and run row after row. SQLite is in process, so a
/// reused prepared statement costs a function call per row; building a set (JSON, a temporary table) would cost more.
/// The new rows, most of an import, go through <see cref="SqliteRowWriter"/> (bound by position on the connection's
/// handle): binding by name costs Microsoft.Data.Sqlite a lookup per parameter and row, more than the insert itself.
/// </summary>
public sealed class SqliteProfileSql : ProfileSql
{
    private const string OwnerOf = """SELECT "ProfileId" FROM "ProfileIdentities" WHERE "Namespace" = ?1 AND "Value" = ?2""";
    private const string ConsentOf = """SELECT "ConsentEmail", "ConsentPush" FROM "Profiles" WHERE "Id" = @id""";
    private const string IdentitiesOf = """SELECT "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" = @id""";
    private const string TokensOf = """SELECT "Token", "Platform" FROM "PushTokens" WHERE "ProfileId" = @id""";

    private const string InsertProfile = """
        INSERT INTO "Profiles" ("Attributes", "ConsentEmail", "ConsentPush", "IsTest", "CreatedAt", "UpdatedAt")
        VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        """;

    private const string UpdateProfile = """
        UPDATE "Profiles" SET "Attributes" = ?1, "ConsentEmail" = ?2, "ConsentPush" = ?3, "IsTest" = ?4, "UpdatedAt" = ?5
        WHERE "Id" = ?6
        """;

    private const string DeleteIdentity = """DELETE FROM "ProfileIdentities" WHERE "ProfileId" = @id AND "Namespace" = @ns AND "Value" = @value""";
    private const string InsertIdentity = """INSERT INTO "ProfileIdentities" ("ProfileId", "Namespace", "Value") VALUES (?1, ?2, ?3)""";
    private const string DeleteToken = """DELETE FROM "PushTokens" WHERE "ProfileId" = @id AND "Token" = @token""";
    private const string InsertToken = """INSERT INTO "PushTokens" ("ProfileId", "Token", "Platform") VALUES (@id, @token, @platform)""";
    private const string UpdatePlatform = """UPDATE "PushTokens" SET "Platform" = @platform WHERE "ProfileId" = @id AND "Token" = @token""";

    public override Task<Dictionary<(string Namespace, string Value), long>> OwnersAsync(
        StoreTransaction tx, IReadOnlyCollection<(string Namespace, string Value)> identities, CancellationToken cancellationToken)
    {
        var found = new Dictionary<(string Namespace, string Value), long>(identities.Count);
        using var owner = new SqliteRowWriter(tx, OwnerOf);
        foreach (var identity in identities)
        {
            owner.Bind(1, identity.Namespace);
            owner.Bind(2, identity.Value);
            if (owner.ReadInt64() is { } id)
            {
                found[identity] = id;
            }
        }
        return Task.FromResult(found);
    }

    public override async Task<Dictionary<long, BatchProfile>> LoadAsync(StoreTransaction tx, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, BatchProfile>(ids.Count);
        await using var consent = tx.Command(ConsentOf);
        await using var identities = tx.Command(IdentitiesOf);
        await using var tokens = tx.Command(TokensOf);
        var consentId = consent.AddParameter("@id", 0L);
        var identitiesId = identities.AddParameter("@id", 0L);
        var tokensId = tokens.AddParameter("@id", 0L);
        foreach (var id in ids)
        {
            (consentId.Value, identitiesId.Value, tokensId.Value) = (id, id, id);
            var profile = Stored(found, id);
            await using (var reader = await consent.ExecuteReaderAsync(cancellationToken))
            {
                if (await reader.ReadAsync(cancellationToken))
                {
                    (profile.ConsentEmail, profile.ConsentPush) = (reader.GetBoolean(0), reader.GetBoolean(1));
                }
            }
            await using (var reader = await identities.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    profile.StoredIdentities!.Add((reader.GetString(0), reader.GetString(1)));
                }
            }
            await using (var reader = await tokens.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    profile.StoredTokens![reader.GetString(0)] = reader.GetString(1);
                }
            }
        }
        return found;
    }

    protected override Task InsertProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        if (profiles.Count == 0)
        {
            return Task.CompletedTask;
        }
        using var insert = new SqliteRowWriter(tx, InsertProfile);
        foreach (var profile in profiles)
        {
            insert.Bind(1, profile.Attributes);
            insert.Bind(2, profile.ConsentEmail);
            insert.Bind(3, profile.ConsentPush);
            insert.Bind(4, profile.IsTest);
            insert.Bind(5, profile.CreatedAt);
            insert.Bind(6, profile.UpdatedAt);
            profile.Id = insert.Insert();
        }
        return Task.CompletedTask;
    }

    protected override Task UpdateProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        if (profiles.Count == 0)
        {
            return Task.CompletedTask;
        }
        using var update = new SqliteRowWriter(tx, UpdateProfile);
        foreach (var profile in profiles)
        {
            update.Bind(1, profile.Attributes);
            update.Bind(2, profile.ConsentEmail);
            update.Bind(3, profile.ConsentPush);
            update.Bind(4, profile.IsTest);
            update.Bind(5, profile.UpdatedAt);
            update.Bind(6, profile.Id);
            update.Insert();
        }
        return Task.CompletedTask;
    }

    protected override Task DeleteIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken) =>
        IdentitiesAsync(tx, DeleteIdentity, rows, cancellationToken);

    protected override Task InsertIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return Task.CompletedTask;
        }
        using var insert = new SqliteRowWriter(tx, InsertIdentity);
        foreach (var row in rows)
        {
            insert.Bind(1, row.ProfileId);
            insert.Bind(2, row.Namespace);
            insert.Bind(3, row.Value);
            insert.Insert();
        }
        return Task.CompletedTask;
    }

    private static async Task IdentitiesAsync(StoreTransaction tx, string text, List<IdentityRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await using var command = tx.Command(text);
        var id = command.AddParameter("@id", 0L);
        var ns = command.AddParameter("@ns", "");
        var value = command.AddParameter("@value", "");
        await command.PrepareAsync(cancellationToken);
        foreach (var row in rows)
        {
            (id.Value, ns.Value, value.Value) = (row.ProfileId, row.Namespace, row.Value);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    protected override Task DeleteTokensAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken) =>
        TokensAsync(tx, DeleteToken, rows, cancellationToken);

    protected override Task InsertTokensAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken) =>
        TokensAsync(tx, InsertToken, rows, cancellationToken);

    protected override Task UpdatePlatformsAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken) =>
        TokensAsync(tx, UpdatePlatform, rows, cancellationToken);

    private static async Task TokensAsync(StoreTransaction tx, string text, List<TokenRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }
        await using var command = tx.Command(text);
        var id = command.AddParameter("@id", 0L);
        var token = command.AddParameter("@token", "");
        // Not every statement names the platform; SQLite ignores a parameter its text does not use.
        var platform = command.AddParameter("@platform", "");
        await command.PrepareAsync(cancellationToken);
        foreach (var row in rows)
        {
            (id.Value, token.Value, platform.Value) = (row.ProfileId, row.Token, row.Platform);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
