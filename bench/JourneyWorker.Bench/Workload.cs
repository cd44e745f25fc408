using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace JourneyWorker.Bench;

/// <summary>Synthetic profiles and the seed's audience and journey, written the fastest way the database allows (SQLite: prepared inserts; PostgreSQL: binary COPY).</summary>
public static class Workload
{
    /// <summary>The seed use case's rule.</summary>
    public const string SeedRule = "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980";

    /// <summary>Exactly one profile in four qualifies for <see cref="SeedRule"/>: 0 mod 4 does; 1 has a qualifying city but is too old; 2 and 3 live elsewhere.</summary>
    public static bool Qualifies(long id) => id % 4 == 0;

    private static readonly string[] Cities = ["Atlanta", "San Francisco", "Seattle"];

    public static string Attributes(long id)
    {
        var (city, year) = (id % 4) switch
        {
            0 => (Cities[id / 4 % 3], 1981 + id % 20),
            1 => (Cities[id / 4 % 3], 1950 + id % 30),
            2 => ("Boston", 1990L),
            _ => ("Denver", 1975L),
        };
        return string.Create(CultureInfo.InvariantCulture,
            $$$"""{"person":{"name":{"firstName":"Pat{{{id}}}","lastName":"Bench"},"birthYear":{{{year}}}},"homeAddress":{"city":"{{{city}}}","country":"US"},"personalEmail":{"address":"p{{{id}}}@example.com"},"loyalty":{"tier":"silver","points":{{{id % 5000}}}}}""");
    }

    /// <summary>Profiles with ids first..first+count-1 and an email identity each, into the host's database.</summary>
    public static async Task InsertProfilesAsync(BenchHost host, long first, long count, CancellationToken cancellationToken)
    {
        if (host.Postgres is { } postgres)
        {
            await using var connection = await postgres.OpenAsync(cancellationToken);
            await CopyProfilesAsync(connection, first, count, cancellationToken);
            return;
        }
        await using var sqlite = host.OpenConnection();
        await InsertProfilesAsync(sqlite, first, count, cancellationToken);
    }

    /// <summary>
    /// PostgreSQL: profiles and their identities by binary COPY, the identity sequences moved past the ids, then
    /// VACUUM ANALYZE (what autovacuum would have done after a bulk load: statistics and the visibility map).
    /// </summary>
    public static async Task CopyProfilesAsync(NpgsqlConnection connection, long first, long count, CancellationToken cancellationToken, bool analyze = true)
    {
        var now = DateTime.UtcNow;
        long done = 0;
        await using (new Progress("profiles copied", count, () => Interlocked.Read(ref done)))
        {
            await using (var profiles = await connection.BeginBinaryImportAsync(
                """COPY "Profiles" ("Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest", "CreatedAt", "UpdatedAt") FROM STDIN (FORMAT BINARY)""", cancellationToken))
            {
                for (var id = first; id < first + count; id++)
                {
                    profiles.StartRow();
                    profiles.Write(id, NpgsqlDbType.Bigint);
                    profiles.Write(Attributes(id), NpgsqlDbType.Text);
                    profiles.Write(true, NpgsqlDbType.Boolean);
                    profiles.Write(true, NpgsqlDbType.Boolean);
                    profiles.Write(false, NpgsqlDbType.Boolean);
                    profiles.Write(now, NpgsqlDbType.TimestampTz);
                    profiles.Write(now, NpgsqlDbType.TimestampTz);
                    Interlocked.Increment(ref done);
                }
                await profiles.CompleteAsync(cancellationToken);
            }
            await using (var identities = await connection.BeginBinaryImportAsync(
                """COPY "ProfileIdentities" ("ProfileId", "Namespace", "Value") FROM STDIN (FORMAT BINARY)""", cancellationToken))
            {
                for (var id = first; id < first + count; id++)
                {
                    identities.StartRow();
                    identities.Write(id, NpgsqlDbType.Bigint);
                    identities.Write("email", NpgsqlDbType.Text);
                    identities.Write(string.Create(CultureInfo.InvariantCulture, $"p{id}@example.com"), NpgsqlDbType.Text);
                }
                await identities.CompleteAsync(cancellationToken);
            }
        }
        await ExecuteAsync(connection, """SELECT setval(pg_get_serial_sequence('"Profiles"', 'Id'), (SELECT max("Id") FROM "Profiles"))""", cancellationToken);
        if (!analyze)
        {
            // A baseline timed as the bare COPY: what autovacuum does later is not part of it.
            return;
        }
        await ExecuteAsync(connection, """VACUUM ANALYZE "Profiles" """, cancellationToken);
        await ExecuteAsync(connection, """VACUUM ANALYZE "ProfileIdentities" """, cancellationToken);
    }

    /// <summary>One statement on its own (VACUUM may not share a round trip: that would make it a transaction block).</summary>
    public static async Task<object?> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>Profiles with ids first..first+count-1 and an email identity each, 10,000 rows per transaction, prepared commands.</summary>
    public static async Task InsertProfilesAsync(SqliteConnection connection, long first, long count, CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        long done = 0;
        await using var progress = new Progress("profiles inserted", count, () => Interlocked.Read(ref done));
        await using var profile = connection.CreateCommand();
        profile.CommandText = """INSERT INTO "Profiles" ("Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest", "CreatedAt", "UpdatedAt") VALUES ($id, $a, 1, 1, 0, $now, $now)""";
        var pid = profile.Parameters.Add("$id", SqliteType.Integer);
        var attributes = profile.Parameters.Add("$a", SqliteType.Text);
        profile.Parameters.AddWithValue("$now", now);
        await using var identity = connection.CreateCommand();
        identity.CommandText = """INSERT INTO "ProfileIdentities" ("ProfileId", "Namespace", "Value") VALUES ($id, 'email', $v)""";
        var iid = identity.Parameters.Add("$id", SqliteType.Integer);
        var value = identity.Parameters.Add("$v", SqliteType.Text);

        for (var start = first; start < first + count; start += 10_000)
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            profile.Transaction = transaction;
            identity.Transaction = transaction;
            for (var id = start; id < Math.Min(start + 10_000, first + count); id++)
            {
                pid.Value = id;
                attributes.Value = Attributes(id);
                profile.ExecuteNonQuery();
                iid.Value = id;
                value.Value = string.Create(CultureInfo.InvariantCulture, $"p{id}@example.com");
                identity.ExecuteNonQuery();
                Interlocked.Increment(ref done);
            }
            await transaction.CommitAsync(cancellationToken);
        }
    }

    public static async Task<JsonNode> PostAsync(HttpClient client, string url, string json, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {url}: {(int)response.StatusCode} {body}");
        }
        return JsonNode.Parse(body.Length == 0 ? "{}" : body)!;
    }

    public static async Task<string> CreateAudienceAsync(HttpClient admin, string rule, CancellationToken cancellationToken) =>
        (await PostAsync(admin, "/api/audiences", new JsonObject { ["name"] = "Bench audience", ["rule"] = rule }.ToJsonString(), cancellationToken))["id"]!.GetValue<string>();

    /// <summary>
    /// A frequency rule every checkpoint of the seed journey's e-mails must count against (each profile gets one e-mail,
    /// so it caps nobody): what the check costs. PUT /api/rules/frequency answers 200 with the stored rules.
    /// </summary>
    public static async Task PutFrequencyRuleAsync(HttpClient admin, CancellationToken cancellationToken)
    {
        using var content = new StringContent("""{"rules": [{"channel": "email", "max": 3, "per": "P7D"}]}""", System.Text.Encoding.UTF8, "application/json");
        using var response = await admin.PutAsync("/api/rules/frequency", content, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Creates and publishes a journey; returns its live version id.</summary>
    public static async Task<(Guid JourneyId, Guid VersionId)> PublishAsync(BenchHost host, HttpClient admin, string journeyJson, CancellationToken cancellationToken)
    {
        var journeyId = Guid.Parse((await PostAsync(admin, "/api/journeys", journeyJson, cancellationToken))["id"]!.GetValue<string>());
        await PostAsync(admin, $"/api/journeys/{journeyId}/publish", "{}", cancellationToken);
        if (host.Postgres is { } postgres)
        {
            await using var pg = await postgres.OpenAsync(cancellationToken);
            await using var live = new NpgsqlCommand("""SELECT "Id" FROM "JourneyVersions" WHERE "JourneyId" = @j AND "Status" = 'live'""", pg);
            live.Parameters.AddWithValue("j", journeyId);
            return (journeyId, (Guid)(await live.ExecuteScalarAsync(cancellationToken))!);
        }
        await using var connection = host.OpenConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = """SELECT "Id" FROM "JourneyVersions" WHERE "JourneyId" = $j AND "Status" = 'live'""";
        command.Parameters.AddWithValue("$j", journeyId.ToString().ToUpperInvariant());
        return (journeyId, Guid.Parse((string)(await command.ExecuteScalarAsync(cancellationToken))!));
    }

    /// <summary>The seed journey's first step: Read Audience, then one e-mail.</summary>
    public static string EmailJourney(string audienceId) => $$$"""
        { "name": "Bench entry", "start": "read", "timeout": "P30D",
          "nodes": [
            { "id": "read", "type": "readAudience", "audience": "{{{audienceId}}}", "schedule": { "frequency": "once" }, "next": "first" },
            { "id": "first", "type": "email", "subject": "Hello {{profile.person.name.firstName}}", "html": "{{{EmailHtml.Replace("\"", "\\\"", StringComparison.Ordinal)}}}" }
          ] }
        """;

    /// <summary>A ~2 KB HTML body with a link (rewritten for click tracking by the engine).</summary>
    public static readonly string EmailHtml =
        "<html><body><h1>Hi {{profile.person.name.firstName}}</h1><p>See <a href=\"https://shop.example.com/new\">what is new</a> this week.</p>"
        + string.Concat(Enumerable.Repeat("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>", 14))
        + "</body></html>";

    public static long Rss() => Environment.WorkingSet;
}
