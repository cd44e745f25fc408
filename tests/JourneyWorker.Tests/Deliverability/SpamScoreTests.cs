using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>
/// The worked example (examples/multi-channel) as it is sent from a configured installation — its own domain, DKIM,
/// VERP bounces, an https tracking host — scores below 1.0 with SpamAssassin's local rules (5.0 is spam).
/// </summary>
public sealed class SpamScoreTests : IAsyncLifetime
{
    private string _folder = null!;

    public ValueTask InitializeAsync()
    {
        _folder = Directory.CreateTempSubdirectory("journeyworker-spam-").FullName;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task The_worked_examples_messages_score_below_one_with_SpamAssassins_local_rules()
    {
        MailTools.SpamScore("From: a@b.example\r\nSubject: probe\r\n\r\nprobe\r\n"u8.ToArray()); // skips here when SpamAssassin is missing
        var key = await DkimKey.CreateAsync(_folder);
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("Email:From", "Shop <news@shop.example>")
            .With("Email:Dkim:Domain", key.Domain).With("Email:Dkim:Selector", key.Selector).With("Email:Dkim:PrivateKeyFile", key.File)
            .With("Email:Bounces:Address", "bounces@shop.example").With("Email:Bounces:Verp", "true")
            .With("Tracking:PublicBaseUrl", "https://links.shop.example"));

        // The definitions folder as `JourneyWorker apply` reads it; the journey names its audience, the API wants the id.
        var example = Path.Combine(RepositoryRoot(), "examples", "multi-channel");
        await h.ImportAsync(SeedJourneyTests.Profiles, Ct);
        var audienceFile = JsonNode.Parse(await File.ReadAllTextAsync(Directory.GetFiles(Path.Combine(example, "audiences")).Single(), Ct))!;
        var audience = JsonNode.Parse(await h.PostJsonAsync("/api/audiences", audienceFile.ToJsonString(), Ct, 201))!["id"]!.GetValue<string>();
        await h.PostJsonAsync("/api/event-configs", await File.ReadAllTextAsync(Path.Combine(example, "event-configs", "purchase.json"), Ct), Ct, 201);
        var journey = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(example, "journeys", "multi-channel.json"), Ct))!;
        var read = journey["nodes"]!.AsArray().Single(n => (string?)n!["type"] == "readAudience")!;
        Assert.Equal((string?)audienceFile["name"], (string?)read["audience"]);
        read["audience"] = audience;
        var (_, version) = await PublishAsync(h, journey.ToJsonString());
        await h.ReadAudienceAsync(version, testOnly: false, Ct);
        await h.DrainAsync(Ct);
        var first = await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        // Nobody opens: a day later the follow-up goes out.
        h.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await h.DrainAsync(Ct);
        var followUps = (await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct)).Skip(3).ToList();

        foreach (var mail in new[] { first.Single(m => m.To.Single() == "ann@example.com"), followUps.Single(m => m.To.Single() == "ann@example.com") })
        {
            var (score, report) = MailTools.SpamScore(mail.Raw);
            TestContext.Current.TestOutputHelper?.WriteLine($"'{mail.Message.Subject}': SpamAssassin score {score}");
            Assert.True(score < 1.0, $"'{mail.Message.Subject}' scores {score}:\n{report}");
        }
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
        throw new InvalidOperationException("The repository root (JourneyWorker.sln) was not found above the test binaries.");
    }
}
