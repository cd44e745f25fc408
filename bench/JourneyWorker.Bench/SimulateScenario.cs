using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace JourneyWorker.Bench;

/// <summary>
/// POST /api/journeys/{id}/simulate of the seed journey for its audience (10,000 profiles of 40,000; quick 2,000 of
/// 8,000) over 91 days with the contract's reaction rates and half the audience buying on day 2: the whole request
/// (reading the profiles, the in-memory run, the answer). The goal is 10 s for 10,000 profiles; there is no raw
/// baseline, as nothing else computes the same answer.
/// </summary>
public static class SimulateScenario
{
    private const string Name = "simulate";

    public static async Task RunAsync(string folder, long members, BenchDatabase? postgres, Report report, CancellationToken ct)
    {
        using var host = new BenchHost(folder, postgres: postgres);
        host.Start();
        using var admin = host.Admin();
        Console.WriteLine($"  generating {members * 4:N0} profiles ({members:N0} in the audience)");
        await Workload.InsertProfilesAsync(host, 1, members * 4, ct);
        var audience = await Workload.CreateAudienceAsync(admin, Workload.SeedRule, ct);
        await Workload.PostAsync(admin, "/api/event-configs", """
            {"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail",
             "fields": [{"path": "productName", "type": "string"}]}
            """, ct);
        var journey = (await Workload.PostAsync(admin, "/api/journeys", SeedJourney(audience), ct))["id"]!.GetValue<string>();
        var request = new JsonObject
        {
            ["profiles"] = "audience",
            ["limit"] = members,
            ["horizon"] = "P91D",
            ["seed"] = 1,
            ["reactions"] = new JsonObject { ["emailOpened"] = 0.3, ["emailClicked"] = 0.1, ["pushOpened"] = 0.2 },
            ["events"] = new JsonArray(new JsonObject
            {
                ["at"] = "P2D", ["profile"] = "*", ["share"] = 0.5,
                ["payload"] = new JsonObject { ["purchaseMessage"] = "thank you", ["customerEmail"] = "anyone@example.com", ["productName"] = "Shoes" },
            }),
        }.ToJsonString();

        JsonNode? answer = null;
        var times = new List<double>();
        for (var i = 0; i < 4; i++) // one warm-up, then the median of three
        {
            var clock = Stopwatch.StartNew();
            answer = await Workload.PostAsync(admin, $"/api/journeys/{journey}/simulate", request, ct);
            if (i > 0)
            {
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        times.Sort();
        if (answer!["profiles"]!.GetValue<int>() != members)
        {
            throw new InvalidOperationException($"The simulation ran {answer["profiles"]} profiles, not {members}: {answer.ToJsonString()[..200]}");
        }
        Console.WriteLine($"  messages {answer["messages"]!.ToJsonString()}, waiting at the horizon {answer["waitingAtHorizon"]}");
        var goal = 10.0 * members / 10_000;
        report.Add(new Figure(Name, "simulate the seed journey over 91 days (whole request)", $"{members:N0} profiles", times[1], "s",
            Target: string.Create(CultureInfo.InvariantCulture, $"< {goal:0.#} s"), Met: times[1] < goal, LowerIsBetter: true));
    }

    /// <summary>The seed journey (CONTRACT "Journeys"): an e-mail, an open or a follow-up, a purchase and a "thank you" push.</summary>
    private static string SeedJourney(string audience) => $$$"""
        { "name": "Bench simulation", "start": "read", "timeout": "P91D",
          "nodes": [
            { "id": "read", "type": "readAudience", "audience": "{{{audience}}}", "schedule": { "frequency": "once" }, "next": "first" },
            { "id": "first", "type": "email", "subject": "Hello {{profile.person.name.firstName}}", "html": "{{{Workload.EmailHtml.Replace("\"", "\\\"", StringComparison.Ordinal)}}}", "next": "opened" },
            { "id": "opened", "type": "reaction", "action": "first", "reaction": "emailOpened", "next": "purchase", "timeout": "P1D", "timeoutNext": "followUp" },
            { "id": "followUp", "type": "email", "subject": "Did you miss us, {{profile.person.name.firstName}}?", "html": "<p>Still there?</p>" },
            { "id": "purchase", "type": "event", "event": "purchase", "next": "thanks" },
            { "id": "thanks", "type": "push", "title": "Thank you", "body": "Enjoy your {{events.purchase.productName}}" }
          ] }
        """;
}
