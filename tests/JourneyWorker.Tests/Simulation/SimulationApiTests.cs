using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Simulation;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Simulation;

/// <summary>POST /api/journeys/{id}/simulate: bad input named, frequency caps and send windows applied, repeatable, nothing sent or written.</summary>
public sealed class SimulationApiTests
{
    private static async Task<(HttpStatusCode Status, JsonObject Body)> SimulateAsync(EngineHarness h, Guid journey, string request)
    {
        var response = await h.Client.PostAsync($"/api/journeys/{journey}/simulate",
            new StringContent(request, System.Text.Encoding.UTF8, "application/json"), Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsObject();
        return (response.StatusCode, body);
    }

    private static async Task AssertInvalidAsync(EngineHarness h, Guid journey, string request, string field, string message)
    {
        var (status, body) = await SimulateAsync(h, journey, request);
        Assert.True(status == HttpStatusCode.BadRequest, $"{request}: {(int)status} {body.ToJsonString()}");
        var errors = body["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"{request}: no error for {field} in {errors.ToJsonString()}");
        Assert.Contains(message, errors[field]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_input_gets_a_problem_naming_what_is_wrong_never_a_500()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (seed, _) = await SeedJourneyTests.SetUpAsync(h);
        const string Ann = """[{"identities": {"email": "ann@example.com"}, "attributes": {"person": {"birthYear": 1985}, "homeAddress": {"city": "Seattle"}}}]""";

        await AssertInvalidAsync(h, seed, """{"events": [{"at": "PT1H", "profile": "*", "share": 1.5, "payload": {}}]}""", "events[0].share", "between 0 and 1");
        await AssertInvalidAsync(h, seed, """{"horizon": "P400D"}""", "horizon", "at most P366D");
        await AssertInvalidAsync(h, seed, """{"horizon": "soon"}""", "horizon", "ISO 8601 duration");
        await AssertInvalidAsync(h, seed, """{"reactions": {"emailOpened": -0.1}}""", "reactions.emailOpened", "share between 0 and 1");
        await AssertInvalidAsync(h, seed, """{"profiles": "everyone"}""", "profiles", "\"audience\", \"test\" or a list");
        await AssertInvalidAsync(h, seed, """{"profiles": [{"attributes": {}}]}""", "profiles[0]", "at least one identity");
        await AssertInvalidAsync(h, seed, """{"limit": 0}""", "limit", "between 1 and 100000");
        await AssertInvalidAsync(h, seed, """{"horizon": "P1D", "events": [{"at": "P2D", "profile": "*", "payload": {}}]}""", "events", "before the horizon");
        await AssertInvalidAsync(h, seed, """{"events": [{"at": "PT1H", "profile": "nobody", "payload": {}}]}""", "events[0].profile", "namespace:identity");
        await AssertInvalidAsync(h, seed, $$$"""{"profiles": {{{Ann}}}, "events": [{"at": "PT1H", "profile": "email:bob@example.com", "payload": {"purchaseMessage": "thank you"}}]}""",
            "events[0].profile", "No simulated profile has the identity 'email:bob@example.com'");
        await AssertInvalidAsync(h, seed, $$$"""{"profiles": {{{Ann}}}, "events": [{"at": "PT1H", "profile": "*", "payload": {"purchaseMessage": "see you"}}]}""",
            "events[0].payload", "matches no event configuration");
        await AssertInvalidAsync(h, seed, $$$"""{"profiles": {{{Ann}}}, "events": [{"at": "PT1H", "profile": "*", "payload": {"purchaseMessage": "thank you", "purchaseDate": 5}}]}""",
            "events[0].payload", "purchase: ");

        // A journey that starts with an event has no audience to read.
        var byEvent = await CreateAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "purchase", "next": "m"}""", Mail("m")));
        await AssertInvalidAsync(h, byEvent, "{}", "profiles", "does not start by reading an audience");

        var (missing, notFound) = await SimulateAsync(h, Guid.NewGuid(), "{}");
        Assert.Equal((HttpStatusCode.NotFound, "Not found"), (missing, notFound["title"]!.GetValue<string>()));
        var broken = await CreateAsync(h, Journey("e", "", """{"id": "e", "type": "event", "event": "purchase", "next": "nowhere"}"""));
        var (invalid, problem) = await SimulateAsync(h, broken, """{"profiles": "test"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid);
        Assert.Contains(problem["errors"]!.AsArray(), e => e!["node"]?.GetValue<string>() == "e");
    }

    [Fact]
    public async Task Frequency_caps_send_windows_and_webhooks_apply_as_in_a_live_run_and_the_same_seed_repeats()
    {
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("Webhooks:AllowedHosts:0", "hooks.example.com").With("Webhooks:SigningKey", new string('k', 32)));
        await h.Client.PutAsJsonAsync("/api/rules/frequency", JsonNode.Parse("""{"rules": [{"channel": "email", "max": 1, "per": "P7D"}]}"""), Ct);
        var audience = await AudienceAsync(h);
        var journey = await CreateAsync(h, Journey("read", "",
            Read(audience, "first"),
            Mail("first", "later"),
            """{"id": "later", "type": "wait", "duration": "P1D", "next": "second"}""",
            """{"id": "second", "type": "email", "subject": "Again", "html": "<p>Again</p>", "next": "hook", "sendWindow": {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00", "timeZone": "profile"}}""",
            """{"id": "hook", "type": "webhook", "url": "https://hooks.example.com/done/{{profile.id}}", "errorNext": "failed"}""",
            """{"id": "failed", "type": "end"}"""));

        // The clock starts on Monday 09:00 UTC: a day later it is 09:00 in UTC (inside the window) and 01:00 in Los Angeles (outside).
        const string Profiles = """
            [{"identities": {"email": "utc@example.com"}, "attributes": {"n": 1, "name": "U"}},
             {"identities": {"email": "la@example.com"}, "attributes": {"n": 2, "name": "L", "timeZone": "America/Los_Angeles"}}]
            """;
        var (status, result) = await SimulateAsync(h, journey, $$"""{"profiles": {{Profiles}}, "horizon": "P5D"}""");
        Assert.True(status == HttpStatusCode.OK, result.ToJsonString());
        Assert.Equal(2, result["nodes"]!["first"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(2, result["nodes"]!["second"]!["skipped"]!.GetValue<int>());
        Assert.Equal(0, result["nodes"]!["second"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(2, result["nodes"]!["hook"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(0, result["nodes"]!["failed"]!["entered"]!.GetValue<int>());
        Assert.Equal("""{"email":2,"push":0,"webhook":2}""", result["messages"]!.ToJsonString());
        Assert.Equal("""[{"day":0,"email":2,"push":0}]""", result["byDay"]!.ToJsonString());
        Assert.Equal("""[{"rule":"frequency cap email 1 per P7D","skipped":2}]""", result["frequencyCaps"]!.ToJsonString());
        var window = Assert.Single(result["sendWindows"]!.AsArray())!;
        Assert.Equal(("second", 1), (window["node"]!.GetValue<string>(), window["deferred"]!.GetValue<int>()));
        Assert.Equal(0, result["waitingAtHorizon"]!.GetValue<int>());
        var path = Assert.Single(result["paths"]!.AsArray())!;
        Assert.Equal("""["read","first","later","second","hook"]""", path["nodes"]!.ToJsonString());
        Assert.Equal(2, path["profiles"]!.GetValue<int>());

        // Reactions are drawn per profile from the seed: the same request gives the same answer.
        var many = new JsonArray([.. Enumerable.Range(1, 400).Select(n => JsonNode.Parse($$$"""{"identities": {"email": "p{{{n}}}@example.com"}, "attributes": {"n": {{{n}}}}}"""))]);
        var reacting = await CreateAsync(h, Journey("read", "",
            Read(audience, "first"), Mail("first", "opened"),
            """{"id": "opened", "type": "reaction", "action": "first", "reaction": "emailOpened", "timeout": "P1D", "timeoutNext": "late", "next": "done"}""",
            """{"id": "done", "type": "end"}""", """{"id": "late", "type": "end"}"""));
        var request = new JsonObject { ["profiles"] = many, ["seed"] = 9, ["horizon"] = "P3D", ["reactions"] = new JsonObject { ["emailOpened"] = 0.25 } }.ToJsonString();
        var (_, once) = await SimulateAsync(h, reacting, request);
        var (_, again) = await SimulateAsync(h, reacting, request);
        Assert.Equal(once.ToJsonString(), again.ToJsonString());
        Assert.InRange(once["nodes"]!["done"]!["entered"]!.GetValue<int>(), 70, 130);
        Assert.Equal(400, once["nodes"]!["done"]!["entered"]!.GetValue<int>() + once["nodes"]!["late"]!["entered"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_simulation_sends_nothing_and_writes_no_live_rows()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await SeedJourneyTests.SetUpAsync(h);
        async Task<long[]> RowsAsync()
        {
            await using var db = h.App.Db();
            return [await db.JourneyInstances.LongCountAsync(Ct), await db.InstanceSteps.LongCountAsync(Ct), await db.OutboxMessages.LongCountAsync(Ct),
                await db.StoredEvents.LongCountAsync(Ct), await db.MessageReactions.LongCountAsync(Ct), await db.Conversions.LongCountAsync(Ct),
                await db.TrackedLinks.LongCountAsync(Ct), await db.Profiles.Where(p => p.UpdatedAt > p.CreatedAt).LongCountAsync(Ct)];
        }
        var before = await RowsAsync();

        var (status, result) = await SimulateAsync(h, journey, """
            {"reactions": {"emailOpened": 1, "pushOpened": 1},
             "events": [{"at": "PT6H", "profile": "*", "payload": {"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "Shoes"}}]}
            """);
        Assert.True(status == HttpStatusCode.OK, result.ToJsonString());
        // Ann, Bob and Fay are mailed (Eve withdrew consent) and all open; only Ann has a device for the thank-you push.
        Assert.Equal("""{"email":3,"push":1,"webhook":0}""", result["messages"]!.ToJsonString());
        Assert.Equal(4, result["profiles"]!.GetValue<int>());

        Assert.Equal(before, await RowsAsync());
        Assert.Equal(0, h.Smtp.SessionCount);
        Assert.Empty(h.Fcm.Messages);
    }

    [Fact]
    public void Draws_are_pure_functions_of_the_seed_the_profile_and_what_is_drawn()
    {
        var openers = Enumerable.Range(1, 1000).Where(id => SimulationDraws.Reacts(1, id, "first", 0.3)).ToList();
        Assert.Equal(openers, Enumerable.Range(1, 1000).Where(id => SimulationDraws.Reacts(1, id, "first", 0.3)));
        Assert.InRange(openers.Count, 250, 350);
        Assert.NotEqual(openers, Enumerable.Range(1, 1000).Where(id => SimulationDraws.Reacts(2, id, "first", 0.3)));
        Assert.NotEqual(openers, Enumerable.Range(1, 1000).Where(id => SimulationDraws.Reacts(1, id, "second", 0.3)));
        // A click rate below the open rate picks a subset of the openers.
        Assert.All(Enumerable.Range(1, 1000).Where(id => SimulationDraws.Reacts(1, id, "first", 0.1)), id => Assert.Contains(id, openers));
        Assert.All(Enumerable.Range(1, 1000), id => Assert.InRange(SimulationDraws.ReactionDelay(1, id, "first", "emailOpened"), TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)));
    }
}
