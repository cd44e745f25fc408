using System.Net.Http.Headers;
using System.Text;
using JourneyWorker.Profiles;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Profiles;

public sealed class ProfileImportTests(JourneyWorkerApp app) : IClassFixture<JourneyWorkerApp>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bad_lines_are_reported_by_number_and_good_lines_kept()
    {
        var tooLong = "{\"identities\": {\"crmId\": \"long\"}, \"attributes\": {\"blob\": \"" + new string('x', 70 * 1024) + "\"}}";
        var body = string.Join('\n',
            """{"identities": {"crmId": "imp-1"}, "attributes": {"a": 1}}""",
            """{"identities": {"crmId": "imp-2"}, "attributes": """,
            """{"attributes": {"a": 3}}""",
            tooLong,
            "",
            """{"identities": {"crmId": "imp-6"}}""");
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        var result = await (await app.Admin().PostAsync("/api/profiles/import", content, Ct)).OkAsync<ImportResponse>();

        Assert.Equal(2, result.Imported);
        Assert.Equal(3, result.Failed);
        Assert.Equal([2L, 3L, 4L], result.Errors.Select(e => e.Line));
        Assert.Contains("identity", result.Errors[1].Error, StringComparison.Ordinal);
        Assert.Contains("longer than", result.Errors[2].Error, StringComparison.Ordinal);

        await (await app.Admin().GetAsync("/api/profiles/crmId/imp-1", Ct)).OkAsync<ProfileResponse>();
        await (await app.Admin().GetAsync("/api/profiles/crmId/imp-6", Ct)).OkAsync<ProfileResponse>();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await app.Admin().GetAsync("/api/profiles/crmId/long", Ct)).StatusCode);
    }

    private async Task<ImportResponse> ImportAsync(IEnumerable<string> lines)
    {
        using var content = new StringContent(string.Join('\n', lines), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        return await (await app.Admin().PostAsync("/api/profiles/import", content, Ct)).OkAsync<ImportResponse>();
    }

    private async Task<ProfileResponse> ProfileAsync(string ns, string identity) =>
        await (await app.Admin().GetAsync($"/api/profiles/{ns}/{identity}", Ct)).OkAsync<ProfileResponse>();

    [Fact]
    public async Task Lines_naming_the_same_identity_are_applied_in_order()
    {
        var result = await ImportAsync([
            """{"identities": {"crmId": "order-1", "email": "order-1@example.com"}, "attributes": {"v": 1}}""",
            """{"identities": {"crmId": "order-2"}, "attributes": {"v": 2}}""",
            """{"identities": {"crmId": "order-1"}, "attributes": {"v": 3}, "consent": {"email": false}}""",
            """{"identities": {"crmId": "order-3"}, "attributes": {"v": 4}}""",
        ]);

        Assert.Equal((4, 0), (result.Imported, result.Failed));
        // The third line replaced what the first stored: its identities, attributes and consent.
        var first = await ProfileAsync("crmId", "order-1");
        Assert.Equal(3, first.Attributes["v"]!.GetValue<int>());
        Assert.False(first.Consent.Email);
        Assert.Equal(["crmId"], first.Identities.Keys);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await app.Admin().GetAsync("/api/profiles/email/order-1@example.com", Ct)).StatusCode);
        Assert.Equal(4, (await ProfileAsync("crmId", "order-3")).Attributes["v"]!.GetValue<int>());
        Assert.NotEqual(first.Id, (await ProfileAsync("crmId", "order-2")).Id);
    }

    [Fact]
    public async Task A_line_whose_identities_belong_to_two_profiles_fails_alone()
    {
        var result = await ImportAsync([
            """{"identities": {"crmId": "clash-1"}, "attributes": {"v": 1}}""",
            """{"identities": {"email": "clash-2@example.com"}, "attributes": {"v": 2}}""",
            """{"identities": {"crmId": "clash-1", "email": "clash-2@example.com"}, "attributes": {"v": 3}}""",
            """{"identities": {"crmId": "clash-4"}, "attributes": {"v": 4}}""",
        ]);

        Assert.Equal((3, 1), (result.Imported, result.Failed));
        var error = Assert.Single(result.Errors);
        Assert.Equal(3, error.Line);
        Assert.Contains("different profiles", error.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await ProfileAsync("crmId", "clash-1")).Attributes["v"]!.GetValue<int>());
        Assert.Equal(2, (await ProfileAsync("email", "clash-2@example.com")).Attributes["v"]!.GetValue<int>());
        Assert.Equal(4, (await ProfileAsync("crmId", "clash-4")).Attributes["v"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_import_of_many_batches_creates_new_profiles_and_updates_existing_ones_in_place()
    {
        var existing = await (await app.Admin().PutAsync("/api/profiles/crmId/many-250",
            new StringContent("""{"attributes": {"n": -1}, "consent": {"email": false}}""", Encoding.UTF8, "application/json"), Ct)).OkAsync<ProfileResponse>();

        var result = await ImportAsync(Enumerable.Range(0, 1_200).Select(n => n == 700
            ? "not json"
            : $$$"""{"identities": {"crmId": "many-{{{n}}}"}, "attributes": {"n": {{{n}}}}}"""));

        Assert.Equal((1_199, 1), (result.Imported, result.Failed));
        Assert.Equal(701, Assert.Single(result.Errors).Line);
        var updated = await ProfileAsync("crmId", "many-250");
        Assert.Equal((existing.Id, 250, false), (updated.Id, updated.Attributes["n"]!.GetValue<int>(), updated.Consent.Email));
        foreach (var n in new[] { 0, 499, 500, 999, 1_199 })
        {
            var profile = await ProfileAsync("crmId", $"many-{n}");
            Assert.Equal((n, true), (profile.Attributes["n"]!.GetValue<int>(), profile.Consent.Email));
        }
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await app.Admin().GetAsync("/api/profiles/crmId/many-700", Ct)).StatusCode);
        await using var db = app.Db();
        Assert.Equal(1_199, db.ProfileIdentities.Count(i => i.Namespace == "crmId" && i.Value.StartsWith("many-")));
    }

    [Fact]
    public async Task An_identity_dropped_by_one_line_can_be_taken_by_a_later_line_of_the_same_batch()
    {
        var existing = await (await app.Admin().PutAsync("/api/profiles/crmId/move-1",
            new StringContent("""{"identities": {"email": "move@example.com"}, "pushTokens": [{"token": "tok-a", "platform": "ios"}, {"token": "tok-b", "platform": "web"}], "consent": {"push": false}}""",
                Encoding.UTF8, "application/json"), Ct)).OkAsync<ProfileResponse>();

        var result = await ImportAsync([
            """{"identities": {"crmId": "move-1"}, "attributes": {"v": 1}, "pushTokens": [{"token": "tok-a", "platform": "android"}]}""",
            """{"identities": {"email": "move@example.com", "crmId": "move-2"}, "attributes": {"v": 2}}""",
        ]);

        Assert.Equal((2, 0), (result.Imported, result.Failed));
        var first = await ProfileAsync("crmId", "move-1");
        Assert.Equal(existing.Id, first.Id);
        Assert.Equal(["crmId"], first.Identities.Keys);
        // The kept token keeps its row with the new platform; the other is gone; consent the line left out is kept.
        var token = Assert.Single(first.PushTokens);
        Assert.Equal(("tok-a", "android"), (token.Token, token.Platform));
        Assert.False(first.Consent.Push);
        var second = await ProfileAsync("email", "move@example.com");
        Assert.NotEqual(existing.Id, second.Id);
        Assert.Equal(2, second.Attributes["v"]!.GetValue<int>());
        Assert.Equal(second.Id, (await ProfileAsync("crmId", "move-2")).Id);
    }

    [Fact]
    public async Task A_batch_whose_every_line_the_database_refuses_reports_each_line_not_a_server_error()
    {
        // Every line is the client's fault (PostgreSQL refuses the NUL in jsonb): each is a failed line, the answer a 200.
        var result = await ImportAsync([
            """{"identities": {"crmId": "all-nul-1"}, "attributes": {"v": "a\u0000b"}}""",
            """{"identities": {"crmId": "all-nul-2"}, "attributes": {"v": "c\u0000d"}}""",
        ]);

        if (TestProvider.IsPostgreSql)
        {
            Assert.Equal((0, 2), (result.Imported, result.Failed));
            Assert.Equal([1L, 2L], result.Errors.Select(e => e.Line));
        }
        else
        {
            Assert.Equal((2, 0), (result.Imported, result.Failed));
        }
    }

    [Fact]
    public async Task A_line_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_kept()
    {
        // PostgreSQL refuses a NUL character in a jsonb document (the profile's attributes are parsed into one); SQLite
        // stores it. Either way the lines around it are stored, and nothing of the bad line is.
        var result = await ImportAsync([
            """{"identities": {"crmId": "nul-1"}, "attributes": {"v": 1}}""",
            """{"identities": {"crmId": "nul-2"}, "attributes": {"v": "a\u0000b"}}""",
            """{"identities": {"crmId": "nul-3"}, "attributes": {"v": 3}}""",
        ]);

        Assert.Equal(1, (await ProfileAsync("crmId", "nul-1")).Attributes["v"]!.GetValue<int>());
        Assert.Equal(3, (await ProfileAsync("crmId", "nul-3")).Attributes["v"]!.GetValue<int>());
        if (TestProvider.IsPostgreSql)
        {
            Assert.Equal((2, 1), (result.Imported, result.Failed));
            var error = Assert.Single(result.Errors);
            Assert.Equal(2, error.Line);
            Assert.StartsWith("Could not be stored:", error.Error, StringComparison.Ordinal);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await app.Admin().GetAsync("/api/profiles/crmId/nul-2", Ct)).StatusCode);
            await using var db = app.Db();
            Assert.False(db.ProfileIdentities.Any(i => i.Value == "nul-2"));
        }
        else
        {
            Assert.Equal((3, 0), (result.Imported, result.Failed));
        }
    }

    [Fact]
    public async Task Compact_lines_past_a_multi_row_insert_get_new_ids_in_order_and_store_what_the_upsert_stores()
    {
        // The largest id so far is deleted: neither AUTOINCREMENT nor the sequence gives it again, and neither may the import.
        var gone = await (await app.Admin().PutAsync("/api/profiles/crmId/rows-gone",
            new StringContent("""{"attributes": {"n": -1}}""", Encoding.UTF8, "application/json"), Ct)).OkAsync<ProfileResponse>();
        (await app.Admin().DeleteAsync("/api/profiles/crmId/rows-gone", Ct)).EnsureSuccessStatusCode();

        // 250 lines: two full multi-row statements and a remainder, each line on the fast path (compact attributes).
        var result = await ImportAsync(Enumerable.Range(0, 250).Select(n =>
            $$$"""{"identities":{"crmId":"rows-{{{n}}}"},"attributes":{"n":{{{n}}},"s":"r{{{n}}}"},"consent":{"email":{{{(n % 2 == 0 ? "false" : "true")}}}}}"""));
        Assert.Equal((250, 0), (result.Imported, result.Failed));

        await using var db = app.Db();
        var rows = db.ProfileIdentities.Where(i => i.Namespace == "crmId" && i.Value.StartsWith("rows-"))
            .Join(db.Profiles, i => i.ProfileId, p => p.Id, (i, p) => new { i.Value, p.Id, p.Attributes, p.ConsentEmail, p.ConsentPush })
            .ToList().OrderBy(r => r.Id).ToList();
        Assert.Equal(250, rows.Count);
        for (var n = 0; n < rows.Count; n++)
        {
            Assert.Equal(($"rows-{n}", $$$"""{"n":{{{n}}},"s":"r{{{n}}}"}""", n % 2 != 0, true),
                (rows[n].Value, rows[n].Attributes, rows[n].ConsentEmail, rows[n].ConsentPush));
            Assert.Equal(rows[0].Id + n, rows[n].Id);
        }
        Assert.True(rows[0].Id > gone.Id, $"profile {rows[0].Id} reuses an id up to {gone.Id}");

        var after = await (await app.Admin().PutAsync("/api/profiles/crmId/rows-after",
            new StringContent("""{"attributes": {}}""", Encoding.UTF8, "application/json"), Ct)).OkAsync<ProfileResponse>();
        Assert.True(after.Id > rows[^1].Id, $"the next upsert's profile {after.Id} is not after the import's last, {rows[^1].Id}");
        // Stored as EF Core stores them (the same clock: the dates' text, the booleans), not merely read back alike.
        var (imported, upserted) = (rows[5].Id, after.Id);
        var stored = db.Database.SqlQuery<string>($"""
            SELECT CAST("CreatedAt" AS TEXT) || '|' || CAST("UpdatedAt" AS TEXT) || '|' || CAST("ConsentPush" AS TEXT) AS "Value"
            FROM "Profiles" WHERE "Id" = {imported} OR "Id" = {upserted} ORDER BY "Id"
            """).ToList();
        Assert.Equal(2, stored.Count);
        Assert.Equal(stored[1], stored[0]);
        Assert.Equal(249, (await ProfileAsync("crmId", "rows-249")).Attributes["n"]!.GetValue<int>());
    }
}
