using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Audiences;

public sealed class AudienceApiTests(JourneyWorkerApp app) : IClassFixture<JourneyWorkerApp>
{
    private const string SeedRule = "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record ValidationBody(Dictionary<string, string[]> Errors);

    [Fact]
    public async Task Create_get_list_update_delete()
    {
        var client = app.Admin();
        var created = await client.PostAsJsonAsync("/api/audiences", new { name = "Young west", rule = SeedRule }, Ct);
        var audience = await created.OkAsync<AudienceResponse>(201);
        Assert.Equal("Young west", audience.Name);
        Assert.Equal(SeedRule, audience.Rule);
        Assert.Equal($"/api/audiences/{audience.Id}", created.Headers.Location?.OriginalString);

        Assert.Equal(audience.Id, (await (await client.GetAsync($"/api/audiences/{audience.Id}", Ct)).OkAsync<AudienceResponse>()).Id);
        var list = await (await client.GetAsync("/api/audiences", Ct)).OkAsync<List<AudienceResponse>>();
        Assert.Contains(list, a => a.Id == audience.Id);

        var updated = await (await client.PutAsJsonAsync($"/api/audiences/{audience.Id}", new { name = "Renamed", rule = "vip" }, Ct))
            .OkAsync<AudienceResponse>();
        Assert.Equal(("Renamed", "vip"), (updated.Name, updated.Rule));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/audiences/{audience.Id}", Ct)).StatusCode);
        await (await client.GetAsync($"/api/audiences/{audience.Id}", Ct)).ProblemAsync(404);
    }

    [Fact]
    public async Task Unknown_ids_are_404_problems()
    {
        var client = app.Admin();
        var id = Guid.NewGuid();
        await (await client.GetAsync($"/api/audiences/{id}", Ct)).ProblemAsync(404);
        await (await client.GetAsync($"/api/audiences/{id}/preview", Ct)).ProblemAsync(404);
        await (await client.PutAsJsonAsync($"/api/audiences/{id}", new { name = "x", rule = "a" }, Ct)).ProblemAsync(404);
        await (await client.DeleteAsync($"/api/audiences/{id}", Ct)).ProblemAsync(404);
    }

    [Theory]
    [InlineData("homeAddress.city in [\"Atlanta\"", "Expected ']' at position 30")]
    [InlineData("a = 1 and (b = 2", "Expected ')' at position 16")]
    [InlineData("nope(a)", "Unknown function 'nope'")]
    [InlineData("year(year(year(year(year(year(a)))))) = 1", "too complex")]
    public async Task A_bad_rule_is_a_400_naming_the_position(string rule, string message)
    {
        var response = await app.Admin().PostAsJsonAsync("/api/audiences", new { name = "Bad", rule }, Ct);
        await response.ProblemAsync(400);
        var body = await response.Content.ReadFromJsonAsync<ValidationBody>(System.Text.Json.JsonSerializerOptions.Web, Ct);
        Assert.Contains(message, Assert.Single(body!.Errors["rule"]), StringComparison.Ordinal);

        var missing = await app.Admin().PostAsJsonAsync("/api/audiences", new { rule = "" }, Ct);
        var errors = (await missing.Content.ReadFromJsonAsync<ValidationBody>(System.Text.Json.JsonSerializerOptions.Web, Ct))!.Errors;
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("name", errors.Keys);
        Assert.Contains("rule", errors.Keys);
    }

    [Fact]
    public async Task Delete_is_409_while_a_live_journey_reads_the_audience()
    {
        var client = app.Admin();
        var audience = await (await client.PostAsJsonAsync("/api/audiences", new { name = "In use", rule = "vip" }, Ct)).OkAsync<AudienceResponse>(201);
        var journeyId = Guid.NewGuid();
        var definition = new JsonObject
        {
            ["name"] = "J",
            ["nodes"] = new JsonArray(new JsonObject { ["id"] = "read", ["type"] = "readAudience", ["audience"] = audience.Id.ToString() }),
        }.ToJsonString();
        await using (var db = app.Db())
        {
            db.Journeys.Add(new Journey { Id = journeyId, Name = "J", Versions = [new JourneyVersion { Id = Guid.NewGuid(), Version = 1, Status = "live", Definition = definition }] });
            await db.SaveChangesAsync(Ct);
        }

        var problem = await (await client.DeleteAsync($"/api/audiences/{audience.Id}", Ct)).ProblemAsync(409);
        Assert.Contains(audience.Id.ToString(), problem.Detail, StringComparison.Ordinal);

        await using (var db = app.Db())
        {
            var version = db.JourneyVersions.Single(v => v.JourneyId == journeyId);
            version.Status = "closed";
            await db.SaveChangesAsync(Ct);
        }
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/audiences/{audience.Id}", Ct)).StatusCode);
    }

    [Fact]
    public void Usage_scan_matches_only_read_audience_nodes_with_that_id()
    {
        var id = Guid.NewGuid();
        Assert.True(AudienceUsage.ReadsAudience($$"""{"nodes":[{"type":"email"},{"type":"readAudience","audience":"{{id}}"}]}""", id));
        Assert.False(AudienceUsage.ReadsAudience($$"""{"nodes":[{"type":"readAudience","audience":"{{Guid.NewGuid()}}"}]}""", id));
        Assert.False(AudienceUsage.ReadsAudience($$"""{"nodes":[{"type":"email","audience":"{{id}}"}]}""", id));
        Assert.False(AudienceUsage.ReadsAudience("not json", id));
    }

    [Fact]
    public async Task Preview_counts_and_samples_in_sql_and_the_engine_query_pages_ids()
    {
        var client = app.Admin();
        var marker = Guid.NewGuid().ToString("N");
        for (var i = 0; i < 25; i++)
        {
            var body = new
            {
                identities = new { crmId = $"{marker}-{i}" },
                attributes = new { batch = marker, homeAddress = new { city = i % 2 == 0 ? "Seattle" : "Boston" }, person = new { birthYear = 1970 + i } },
                testProfile = i % 4 == 0,
            };
            Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/api/profiles/crmId/{marker}-{i}", body, Ct)).StatusCode);
        }

        // Seattle: even i (13 of 25); born after 1980: i > 10 -> even i in 12..24 -> 7 profiles.
        var rule = $"batch = \"{marker}\" and {SeedRule}";
        var audience = await (await client.PostAsJsonAsync("/api/audiences", new { name = "Preview", rule }, Ct)).OkAsync<AudienceResponse>(201);
        var preview = await (await client.GetAsync($"/api/audiences/{audience.Id}/preview", Ct)).OkAsync<AudiencePreviewResponse>();
        Assert.Equal(7, preview.Count);
        Assert.Equal(7, preview.Sample.Count);
        Assert.All(preview.Sample, p => Assert.Equal("Seattle", p.Attributes["homeAddress"]!["city"]!.GetValue<string>()));
        Assert.All(preview.Sample, p => Assert.StartsWith(marker, p.Identities["crmId"], StringComparison.Ordinal));

        await using var db = app.Db();
        var now = app.Time.GetUtcNow();
        var first = await AudienceQuery.ReadIdsAsync(db, rule, 0, 4, testOnly: false, now, Ct);
        var rest = await AudienceQuery.ReadIdsAsync(db, rule, first[^1], 100, testOnly: false, now, Ct);
        Assert.Equal(4, first.Count);
        Assert.Equal(3, rest.Count);
        Assert.Equal(preview.Sample.Select(p => p.Id), first.Concat(rest));
        // Test profiles: i % 4 == 0 among i in {12, 16, 20, 24} -> all four.
        Assert.Equal(4, (await AudienceQuery.ReadIdsAsync(db, rule, 0, 100, testOnly: true, now, Ct)).Count);
    }

    [Fact]
    public async Task Routes_need_the_admin_key()
    {
        var response = await app.WithKey(null).GetAsync("/api/audiences", Ct);
        await response.ProblemAsync(401);
        await (await app.Ingest().PostAsJsonAsync("/api/audiences", new { name = "x", rule = "a" }, Ct)).ProblemAsync(401);
    }
}
