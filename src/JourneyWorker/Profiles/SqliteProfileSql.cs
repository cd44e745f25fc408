using System.Data.Common;
using System.Globalization;
using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Profiles;

/// <summary>
/// The import's statements on SQLite: each prepared once per batch and run row after row, new rows by multi-row INSERTs.
/// SQLite is in process, so a reused prepared statement costs a function call per execution; building a set (JSON, a
/// temporary table) would cost more.
/// </summary>
public sealed class SqliteProfileSql : ProfileSql
{
    private const string OwnerOf = """SELECT "ProfileId" FROM "ProfileIdentities" WHERE "Namespace" = @ns AND "Value" = @value""";
    private const string ConsentOf = """SELECT "ConsentEmail", "ConsentPush" FROM "Profiles" WHERE "Id" = @id""";
    private const string IdentitiesOf = """SELECT "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" = @id""";
    private const string TokensOf = """SELECT "Token", "Platform" FROM "PushTokens" WHERE "ProfileId" = @id""";

    /// <summary>
    /// Rows per multi-row INSERT. Each execution of a statement costs Microsoft.Data.Sqlite a reader, a reset and a
    /// lookup of its statements whatever the rows, so many rows a statement cost much less per row than one; beyond a
    /// hundred the gain is small and the statement's text and parameters grow.
    /// </summary>
    private const int RowsPerInsert = 100;

    private const string InsertProfiles = """INSERT INTO "Profiles" ("Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest", "CreatedAt", "UpdatedAt") VALUES """;

    // The batch holds the write lock (BEGIN IMMEDIATE), so nobody takes these ids meanwhile. AUTOINCREMENT never reuses an
    // id, even a deleted one, so the next id is past both the sequence and the largest id; inserting explicit ids moves
    // the sequence on as SQLite's own would.
    private const string NextProfileId = """
        SELECT max(coalesce((SELECT "seq" FROM sqlite_sequence WHERE "name" = 'Profiles'), 0),
                   coalesce((SELECT max("Id") FROM "Profiles"), 0)) + 1
        """;

    private const string UpdateProfile = """
        UPDATE "Profiles" SET "Attributes" = @attributes, "ConsentEmail" = @consentEmail, "ConsentPush" = @consentPush,
            "IsTest" = @isTest, "UpdatedAt" = @updatedAt
        WHERE "Id" = @id
        """;

    private const string DeleteIdentity = """DELETE FROM "ProfileIdentities" WHERE "ProfileId" = @id AND "Namespace" = @ns AND "Value" = @value""";
    private const string InsertIdentities = """INSERT INTO "ProfileIdentities" ("ProfileId", "Namespace", "Value") VALUES """;
    private const string DeleteToken = """DELETE FROM "PushTokens" WHERE "ProfileId" = @id AND "Token" = @token""";
    private const string InsertToken = """INSERT INTO "PushTokens" ("ProfileId", "Token", "Platform") VALUES (@id, @token, @platform)""";
    private const string UpdatePlatform = """UPDATE "PushTokens" SET "Platform" = @platform WHERE "ProfileId" = @id AND "Token" = @token""";

    public override async Task<Dictionary<(string Namespace, string Value), long>> OwnersAsync(
        StoreTransaction tx, IReadOnlyCollection<(string Namespace, string Value)> identities, CancellationToken cancellationToken)
    {
        var found = new Dictionary<(string Namespace, string Value), long>(identities.Count);
        await using var command = tx.Command(OwnerOf);
        var ns = command.AddParameter("@ns", "");
        var value = command.AddParameter("@value", "");
        await command.PrepareAsync(cancellationToken);
        foreach (var identity in identities)
        {
            (ns.Value, value.Value) = identity;
            if (await command.ExecuteScalarAsync(cancellationToken) is long owner)
            {
                found[identity] = owner;
            }
        }
        return found;
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

    protected override async Task InsertProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        if (profiles.Count == 0)
        {
            return;
        }
        await using (var next = tx.Command(NextProfileId))
        {
            var first = (long)(await next.ExecuteScalarAsync(cancellationToken))!;
            for (var i = 0; i < profiles.Count; i++)
            {
                profiles[i].Id = first + i;
            }
        }
        await InsertRowsAsync(tx, InsertProfiles, 7, profiles, static (profile, values, at) =>
        {
            (values[at].Value, values[at + 1].Value, values[at + 2].Value) = (profile.Id, profile.Attributes, profile.ConsentEmail);
            (values[at + 3].Value, values[at + 4].Value) = (profile.ConsentPush, profile.IsTest);
            (values[at + 5].Value, values[at + 6].Value) = (profile.CreatedAt, profile.UpdatedAt);
        }, cancellationToken);
    }

    /// <summary>
    /// <paramref name="rows"/> by multi-row INSERTs of <see cref="RowsPerInsert"/> rows (one statement prepared once and
    /// reused), the remainder by one statement of its own.
    /// </summary>
    private static async Task InsertRowsAsync<T>(
        StoreTransaction tx, string insert, int columns, List<T> rows, Action<T, DbParameter[], int> bind, CancellationToken cancellationToken)
    {
        var whole = rows.Count / RowsPerInsert * RowsPerInsert;
        if (whole > 0)
        {
            var (command, values) = MultiRow(tx, insert, columns, RowsPerInsert);
            await using (command)
            {
                await command.PrepareAsync(cancellationToken);
                for (var start = 0; start < whole; start += RowsPerInsert)
                {
                    await ExecuteAsync(command, values, start, RowsPerInsert);
                }
            }
        }
        if (whole < rows.Count)
        {
            var (command, values) = MultiRow(tx, insert, columns, rows.Count - whole);
            await using (command)
            {
                await ExecuteAsync(command, values, whole, rows.Count - whole);
            }
        }

        Task ExecuteAsync(DbCommand command, DbParameter[] values, int start, int count)
        {
            for (var i = 0; i < count; i++)
            {
                bind(rows[start + i], values, i * columns);
            }
            return command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static (DbCommand Command, DbParameter[] Values) MultiRow(StoreTransaction tx, string insert, int columns, int rows)
    {
        var text = new System.Text.StringBuilder(insert, insert.Length + rows * columns * 7);
        var command = tx.Command("");
        var values = new DbParameter[rows * columns];
        for (var row = 0; row < rows; row++)
        {
            text.Append(row == 0 ? "(" : ", (");
            for (var column = 0; column < columns; column++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"@p{(row * columns) + column}");
                text.Append(column == 0 ? name : ", " + name);
                values[(row * columns) + column] = command.AddParameter(name, null);
            }
            text.Append(')');
        }
        command.CommandText = text.ToString();
        return (command, values);
    }

    protected override async Task UpdateProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        if (profiles.Count == 0)
        {
            return;
        }
        await using var command = tx.Command(UpdateProfile);
        var (attributes, consentEmail, consentPush, isTest, updatedAt) = ProfileParameters(command);
        var id = command.AddParameter("@id", 0L);
        await command.PrepareAsync(cancellationToken);
        foreach (var profile in profiles)
        {
            (attributes.Value, consentEmail.Value, consentPush.Value, isTest.Value) = (profile.Attributes, profile.ConsentEmail, profile.ConsentPush, profile.IsTest);
            (updatedAt.Value, id.Value) = (profile.UpdatedAt, profile.Id);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static (DbParameter Attributes, DbParameter ConsentEmail, DbParameter ConsentPush, DbParameter IsTest, DbParameter UpdatedAt) ProfileParameters(DbCommand command) => (
        command.AddParameter("@attributes", ""),
        command.AddParameter("@consentEmail", false),
        command.AddParameter("@consentPush", false),
        command.AddParameter("@isTest", false),
        command.AddParameter("@updatedAt", DateTime.UnixEpoch));

    protected override Task DeleteIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken) =>
        IdentitiesAsync(tx, DeleteIdentity, rows, cancellationToken);

    protected override Task InsertIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken) =>
        InsertRowsAsync(tx, InsertIdentities, 3, rows, static (row, values, at) =>
            (values[at].Value, values[at + 1].Value, values[at + 2].Value) = (row.ProfileId, row.Namespace, row.Value), cancellationToken);

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
