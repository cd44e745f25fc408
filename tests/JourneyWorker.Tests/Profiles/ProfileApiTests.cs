using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Profiles;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Profiles;

public sealed class ProfileApiTests : IClassFixture<JourneyWorkerApp>
{
    private readonly JourneyWorkerApp _app;
    private readonly HttpClient _client;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ProfileApiTests(JourneyWorkerApp app)
    {
        _app = app;
        _client = app.Admin();
    }

    private static object Body(string? firstName = "Ann", object? identities = null) => new
    {
        identities = identities ?? new { crmId = "c-" + Guid.NewGuid().ToString("N")[..8] },
        attributes = new { person = new { name = new { firstName } }, homeAddress = new { city = "Seattle" } },
        pushTokens = new[] { new { token = "tok-1", platform = "android" } },
        consent = new { email = true, push = false },
        testProfile = true,
    };

    [Fact]
    public async Task Put_creates_then_replaces_and_get_returns_it()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var created = await (await _client.PutAsJsonAsync($"/api/profiles/email/{email}", Body(), Ct)).OkAsync<ProfileResponse>();
        Assert.True(created.Id > 0);
        Assert.Equal(email, created.Identities["email"]);
        Assert.Equal(2, created.Identities.Count);
        Assert.False(created.Consent.Push);
        Assert.True(created.TestProfile);
        Assert.Equal("tok-1", Assert.Single(created.PushTokens).Token);

        var replaced = await (await _client.PutAsJsonAsync($"/api/profiles/email/{email}", Body("Bea"), Ct)).OkAsync<ProfileResponse>();
        Assert.Equal(created.Id, replaced.Id);

        var fetched = await (await _client.GetAsync($"/api/profiles/email/{email}", Ct)).OkAsync<ProfileResponse>();
        Assert.Equal("Bea", fetched.Attributes["person"]!["name"]!["firstName"]!.GetValue<string>());
        // Reachable through its other identity too.
        var crm = fetched.Identities["crmId"];
        Assert.Equal(created.Id, (await (await _client.GetAsync($"/api/profiles/crmId/{crm}", Ct)).OkAsync<ProfileResponse>()).Id);
    }

    [Fact]
    public async Task An_identity_of_another_profile_is_a_conflict_and_changes_nothing()
    {
        var first = await (await _client.PutAsJsonAsync($"/api/profiles/crmId/owner-{Guid.NewGuid():N}", Body(identities: new { }), Ct)).OkAsync<ProfileResponse>();
        var taken = first.Identities["crmId"];
        var other = $"{Guid.NewGuid():N}@example.com";
        await (await _client.PutAsJsonAsync($"/api/profiles/email/{other}", Body(), Ct)).OkAsync<ProfileResponse>();
        // The email names one profile and the crmId another: merging them silently would corrupt both.
        var response = await _client.PutAsJsonAsync($"/api/profiles/email/{other}", Body(identities: new { crmId = taken }), Ct);
        var problem = await response.ProblemAsync(409);
        Assert.Contains(taken, problem.Detail, StringComparison.Ordinal);
        await using var db = _app.Db();
        Assert.Equal(1, await db.ProfileIdentities.CountAsync(i => i.Value == taken, Ct));
    }

    [Fact]
    public async Task Path_identity_contradicting_the_body_is_refused()
    {
        var response = await _client.PutAsJsonAsync("/api/profiles/email/a@example.com", Body(identities: new { email = "b@example.com" }), Ct);
        var problem = await response.ProblemAsync(400);
        Assert.Contains("identities.email", ErrorKeys(problem), StringComparer.Ordinal);
    }

    [Theory]
    [InlineData("{\"attributes\": {", "Malformed JSON")]
    [InlineData("{\"testProfile\": \"yes\"}", "testProfile")]
    [InlineData("{\"pushTokens\": [{\"token\": \"t\", \"platform\": \"nokia\"}]}", "platform")]
    [InlineData("", "")]
    public async Task Bad_bodies_get_400_problem_details_naming_the_problem(string body, string expected)
    {
        var response = await _client.PutAsync($"/api/profiles/email/{Guid.NewGuid():N}@example.com",
            new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        var problem = await response.ProblemAsync(400);
        var text = problem.Detail + " " + string.Join(" ", ErrorKeys(problem)) + " " + problem.Title;
        Assert.Contains(expected, text, StringComparison.Ordinal);
        await using var db = _app.Db();
        Assert.False(await db.ProfileIdentities.AnyAsync(i => i.Namespace == "email" && i.Value.StartsWith("zz"), Ct));
    }

    [Fact]
    public async Task Re_importing_without_consent_keeps_a_withdrawn_consent()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var line = $"{{\"identities\": {{\"email\": \"{email}\"}}, \"consent\": {{\"email\": false}}}}";
        await (await _client.PostAsync("/api/profiles/import", new StringContent(line, Encoding.UTF8, "application/x-ndjson"), Ct)).OkAsync<ImportResponse>();
        var again = $"{{\"identities\": {{\"email\": \"{email}\"}}, \"attributes\": {{\"n\": 2}}}}";
        await (await _client.PostAsync("/api/profiles/import", new StringContent(again, Encoding.UTF8, "application/x-ndjson"), Ct)).OkAsync<ImportResponse>();
        var profile = await (await _client.GetAsync($"/api/profiles/email/{email}", Ct)).OkAsync<ProfileResponse>();
        Assert.False(profile.Consent.Email);
        Assert.True(profile.Consent.Push);
    }

    [Fact]
    public async Task Unknown_profile_is_404()
    {
        var problem = await (await _client.GetAsync("/api/profiles/email/nobody@example.com", Ct)).ProblemAsync(404);
        Assert.Contains("nobody@example.com", problem.Detail, StringComparison.Ordinal);
        await (await _client.DeleteAsync("/api/profiles/email/nobody@example.com", Ct)).ProblemAsync(404);
    }

    [Fact]
    public async Task Delete_forgets_the_profile_and_its_identities()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var created = await (await _client.PutAsJsonAsync($"/api/profiles/email/{email}", Body(), Ct)).OkAsync<ProfileResponse>();
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/profiles/email/{email}", Ct)).StatusCode);
        await (await _client.GetAsync($"/api/profiles/email/{email}", Ct)).ProblemAsync(404);
        await using var db = _app.Db();
        Assert.False(await db.ProfileIdentities.AnyAsync(i => i.ProfileId == created.Id, Ct));
        Assert.False(await db.PushTokens.AnyAsync(t => t.ProfileId == created.Id, Ct));
    }

    [Fact]
    public async Task Import_keeps_good_lines_and_reports_bad_ones_by_number()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var lines = new[]
        {
            $"{{\"identities\": {{\"email\": \"a-{tag}@example.com\"}}, \"attributes\": {{\"n\": 1}}}}",
            "{not json",
            "",
            "{\"attributes\": {\"n\": 2}}",
            $"{{\"identities\": {{\"email\": \"b-{tag}@example.com\"}}, \"attributes\": {{\"x\": \"{new string('x', 70_000)}\"}}}}",
            $"{{\"identities\": {{\"email\": \"c-{tag}@example.com\"}}}}",
        };
        var content = new StringContent(string.Join("\n", lines), Encoding.UTF8, "application/x-ndjson");
        var result = await (await _client.PostAsync("/api/profiles/import", content, Ct)).OkAsync<ImportResponse>();
        Assert.Equal(2, result.Imported);
        Assert.Equal(3, result.Failed);
        Assert.Equal([2L, 4L, 5L], result.Errors.Select(e => e.Line));
        Assert.Contains("identity", result.Errors[1].Error, StringComparison.Ordinal);
        Assert.Contains("longer than", result.Errors[2].Error, StringComparison.Ordinal);
        await using var db = _app.Db();
        Assert.Equal(2, await db.ProfileIdentities.CountAsync(i => i.Value.EndsWith($"-{tag}@example.com"), Ct));
    }

    private static IEnumerable<string> ErrorKeys(Microsoft.AspNetCore.Mvc.ProblemDetails problem) =>
        problem.Extensions.TryGetValue("errors", out var errors) && errors is System.Text.Json.JsonElement e && e.ValueKind == System.Text.Json.JsonValueKind.Object
            ? e.EnumerateObject().Select(p => p.Name).ToList()
            : [];
}
