using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Journeys;

/// <summary>The worked examples under examples/ stay valid against the real host as the product changes.</summary>
public sealed class ExampleJourneyTests
{
    [Fact]
    public async Task The_respectful_example_sets_its_frequency_rule_and_validates_with_its_webhook_host_allowed()
    {
        var folder = Path.Combine(RepositoryRoot(), "examples", "respectful");
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("Webhooks:AllowedHosts:0", "crm.example.com")
            .With("Webhooks:SigningKey", new string('k', 64)));

        var rule = await h.Client.PutAsync("/api/rules/frequency",
            new StringContent(await File.ReadAllTextAsync(Path.Combine(folder, "frequency.json"), Ct), System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.True(rule.IsSuccessStatusCode, await rule.Content.ReadAsStringAsync(Ct));
        var audienceFile = await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(folder, "audiences"), "*.json").Single(), Ct);
        var audience = JsonNode.Parse(await h.PostJsonAsync("/api/audiences", audienceFile, Ct, 201))!["id"]!.GetValue<string>();
        await h.PostJsonAsync("/api/event-configs", await File.ReadAllTextAsync(Path.Combine(folder, "event-configs", "purchase.json"), Ct), Ct, 201);
        // The folder names the audience (JourneyWorker apply maps names to ids); the API takes its id.
        var journey = (await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(folder, "journeys"), "*.json").Single(), Ct))
            .Replace(JsonNode.Parse(audienceFile)!["name"]!.ToJsonString(), $"\"{audience}\"", StringComparison.Ordinal);
        var id = JsonNode.Parse(await h.PostJsonAsync("/api/journeys", journey, Ct, 201))!["id"]!.GetValue<string>();

        var result = JsonNode.Parse(await h.PostJsonAsync($"/api/journeys/{id}/validate", "{}", Ct))!;
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        var definition = JsonNode.Parse(journey)!;
        var types = definition["nodes"]!.AsArray().Select(n => n!["type"]!.GetValue<string>()).ToHashSet();
        Assert.Contains("webhook", types);
        Assert.Contains(definition["nodes"]!.AsArray(), n => n!["sendWindow"] is not null);
        Assert.NotNull(definition["exit"]);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "JourneyWorker.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("JourneyWorker.sln not found above the test's folder.");
    }
}
