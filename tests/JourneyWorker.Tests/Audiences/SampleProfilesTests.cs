using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using JourneyWorker.Audiences;
using JourneyWorker.Profiles;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Audiences;

/// <summary>The committed sample file, imported through the API, previewed with the seed audience.</summary>
public sealed class SampleProfilesTests(JourneyWorkerApp app) : IClassFixture<JourneyWorkerApp>
{
    private const string SeedRule = "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Seed_audience_preview_matches_a_count_made_from_the_file()
    {
        var file = FindSample();
        var lines = await File.ReadAllLinesAsync(file, Ct);
        var expected = lines.Count(InSeedAudience);
        Assert.InRange(expected, 50, 500);

        await using var stream = File.OpenRead(file);
        using var content = new StreamContent(stream);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        var client = app.Admin();
        var imported = await (await client.PostAsync("/api/profiles/import", content, Ct)).OkAsync<ImportResponse>();
        Assert.Equal((lines.Length, 0), (imported.Imported, imported.Failed));

        var audience = await (await client.PostAsJsonAsync("/api/audiences", new { name = "Seed", rule = SeedRule }, Ct)).OkAsync<AudienceResponse>(201);
        var preview = await (await client.GetAsync($"/api/audiences/{audience.Id}/preview", Ct)).OkAsync<AudiencePreviewResponse>();
        Assert.Equal(expected, preview.Count);
        Assert.Equal(AudienceEndpoints.PreviewSampleSize, preview.Sample.Count);

        // Some test profiles are in the audience, so journey test mode has someone to send to.
        await using var db = app.Db();
        var testMembers = await AudienceQuery.ReadIdsAsync(db, SeedRule, 0, 1000, testOnly: true, app.Time.GetUtcNow(), Ct);
        Assert.Equal(lines.Count(l => InSeedAudience(l) && l.Contains("\"testProfile\":true", StringComparison.Ordinal)), testMembers.Count);
        Assert.NotEmpty(testMembers);
    }

    /// <summary>The seed rule written out by hand, independent of the expression code.</summary>
    private static bool InSeedAudience(string line)
    {
        using var document = JsonDocument.Parse(line);
        var attributes = document.RootElement.GetProperty("attributes");
        var city = attributes.TryGetProperty("homeAddress", out var address) && address.TryGetProperty("city", out var c) ? c.GetString() : null;
        var year = attributes.GetProperty("person").GetProperty("birthYear");
        var birthYear = year.ValueKind == JsonValueKind.Number ? year.GetDouble() : double.Parse(year.GetString()!, CultureInfo.InvariantCulture);
        return city is "Atlanta" or "San Francisco" or "Seattle" && birthYear > 1980;
    }

    private static string FindSample()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "profiles.ndjson");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException("samples/profiles.ndjson not found above the test output folder.");
    }
}
