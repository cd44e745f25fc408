using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Simulation;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Simulation;

/// <summary>
/// The simulation of the seed journey agrees with a real test-mode run on the same profiles, opens and purchases: the
/// same per-node counts. The real run sends through SMTP and FCM and records opens through the tracking pixel; the
/// opens and purchases it gets are the ones the simulation's seeded draws give.
/// </summary>
public sealed class SimulationAgreementTests
{
    private const int Count = 200;
    private const int Seed = 5;
    private const double OpenRate = 0.4;
    private const double PurchaseShare = 0.5;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Cities = ["Atlanta", "San Francisco", "Seattle", "Boston"];

    /// <summary>
    /// Profiles in and out of the seed audience (city, birth year), most of them test profiles, every other one with a
    /// push token, every tenth without e-mail consent.
    /// </summary>
    public static string Profiles(int count)
    {
        var sb = new StringBuilder();
        for (var n = 1; n <= count; n++)
        {
            var profile = new JsonObject
            {
                ["identities"] = new JsonObject { ["email"] = $"p{n}@example.com" },
                ["attributes"] = new JsonObject
                {
                    ["person"] = new JsonObject { ["name"] = new JsonObject { ["firstName"] = $"P{n}" }, ["birthYear"] = 1975 + n % 20 },
                    ["homeAddress"] = new JsonObject { ["city"] = Cities[n % 4] },
                    ["personalEmail"] = new JsonObject { ["address"] = $"p{n}@example.com" },
                },
                ["consent"] = new JsonObject { ["email"] = n % 10 != 0 },
                ["testProfile"] = n % 7 != 0,
            };
            if (n % 2 == 0)
            {
                profile["pushTokens"] = new JsonArray(new JsonObject { ["token"] = $"device-{n}", ["platform"] = "android" });
            }
            sb.Append(profile.ToJsonString()).Append('\n');
        }
        return sb.ToString();
    }

    private static string Purchase(string email) => $$"""
        {"purchaseMessage": "thank you", "customerEmail": "{{email}}", "productName": "Shoes", "purchaseDate": "2026-03-04T10:00:00Z"}
        """;

    [Fact]
    public async Task A_simulation_of_the_seed_journey_counts_what_a_real_test_mode_run_does()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(Profiles(Count), Ct);
        var (journeyId, _) = await SeedJourneyTests.SetUpAsync(h);

        var simulation = await (await h.Client.PostAsJsonAsync($"/api/journeys/{journeyId}/simulate", JsonNode.Parse($$"""
            {"profiles": "test", "horizon": "P10D", "seed": {{Seed}}, "reactions": {"emailOpened": {{OpenRate.ToString(CultureInfo.InvariantCulture)}}},
             "events": [{"at": "P2D", "profile": "*", "share": {{PurchaseShare.ToString(CultureInfo.InvariantCulture)}}, "payload": {{Purchase("anyone@example.com")}}}]}
            """), Ct)).OkAsync<JsonObject>();
        Assert.Empty(h.Smtp.Messages);

        // The real run: test mode, every wait and timeout 5 s, the audience's test profiles (SeedJourneyTests' six profiles are not test profiles).
        await h.PostJsonAsync($"/api/journeys/{journeyId}/test", """{"enabled": true, "waitOverride": "PT5S"}""", Ct);
        Guid draft;
        Dictionary<string, long> ids;
        await using (var db = h.App.Db())
        {
            draft = db.JourneyVersions.Single(v => v.JourneyId == journeyId).Id;
            ids = await db.ProfileIdentities.Where(i => i.Namespace == "email").ToDictionaryAsync(i => i.Value, i => i.ProfileId, Ct);
        }
        var entered = await h.ReadAudienceAsync(draft, testOnly: true, Ct);
        Assert.True(entered > 50, $"only {entered} profiles entered");
        Assert.Equal(entered, simulation["profiles"]!.GetValue<int>());
        await h.DrainAsync(Ct);
        var sentFirst = simulation["nodes"]!["first"]!["succeeded"]!.GetValue<int>();
        await h.Smtp.WaitForMessagesAsync(sentFirst, cancellationToken: Ct);

        // The opens the simulation drew, through the pixel, before the (5 s) reaction timeout.
        var opened = 0;
        foreach (var mail in h.Smtp.Messages.ToList())
        {
            if (SimulationDraws.Reacts(Seed, ids[mail.To.Single()], "first", OpenRate))
            {
                var pixel = await h.App.WithKey(null).GetAsync(EngineHarness.PixelPath(mail), Ct);
                Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
                opened++;
            }
        }
        Assert.InRange(opened, sentFirst * 0.2, sentFirst * 0.6);
        await h.DrainAsync(Ct);
        h.Advance(TimeSpan.FromSeconds(6));
        await h.DrainAsync(Ct);

        // The purchases the simulation drew for its profiles, after the follow-ups went out (at P2D there).
        List<long> simulated;
        await using (var db = h.App.Db())
        {
            simulated = await db.JourneyInstances.Where(i => i.JourneyId == journeyId).Select(i => i.ProfileId).ToListAsync(Ct);
        }
        foreach (var (email, profileId) in ids.Where(p => simulated.Contains(p.Value)))
        {
            if (SimulationDraws.Takes(Seed, profileId, 0, PurchaseShare))
            {
                await h.PostJsonAsync("/api/events", Purchase(email), Ct, 202);
            }
        }
        await h.DrainAsync(Ct);

        var report = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}/report", Ct))!["nodes"]!.AsObject();
        var simulatedNodes = simulation["nodes"]!.AsObject();
        Assert.Equal(report.Select(n => n.Key).Order(), simulatedNodes.Select(n => n.Key).Order());
        foreach (var (node, counts) in simulatedNodes)
        {
            foreach (var outcome in new[] { "entered", "succeeded", "failed", "timedOut", "skipped" })
            {
                Assert.True(report[node]![outcome]!.GetValue<int>() == counts![outcome]!.GetValue<int>(),
                    $"{node}.{outcome}: real {report[node]![outcome]}, simulated {counts[outcome]}\nreal: {report.ToJsonString()}\nsimulated: {simulatedNodes.ToJsonString()}");
            }
        }
        // Every branch of the seed journey was taken, so the agreement covers each node's semantics.
        Assert.All(new[] { "followUp", "thanks" }, node => Assert.True(simulatedNodes[node]!["succeeded"]!.GetValue<int>() > 0, node));
        Assert.True(simulatedNodes["first"]!["skipped"]!.GetValue<int>() > 0, "no send was skipped for consent");
        Assert.True(simulatedNodes["thanks"]!["failed"]!.GetValue<int>() > 0, "no push failed for want of a token");
        Assert.Equal(simulatedNodes["thanks"]!["succeeded"]!.GetValue<int>(), h.Fcm.Messages.Count);
    }
}
