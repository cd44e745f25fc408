using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Rules;

/// <summary>GET|PUT /api/rules/frequency: the list is stored as given, replaced whole, and bad rules are refused naming the field.</summary>
public sealed class FrequencyRuleApiTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Rules_are_empty_at_first_then_replaced_whole_and_read_back_in_order()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        var client = app.Admin();
        Assert.Empty((await (await client.GetAsync("/api/rules/frequency", Ct)).OkAsync<JsonObject>())["rules"]!.AsArray());

        var put = await client.PutAsync("/api/rules/frequency", Json("""
            {"rules": [{"channel": "email", "max": 3, "per": "P7D"}, {"channel": "any", "max": 5, "per": "PT24H"}, {"channel": "push", "max": 1, "per": "PT1H"}]}
            """), Ct);
        var stored = await put.OkAsync<JsonObject>();
        var expected = """{"rules":[{"channel":"email","max":3,"per":"P7D"},{"channel":"any","max":5,"per":"P1D"},{"channel":"push","max":1,"per":"PT1H"}]}""";
        Assert.Equal(expected, stored.ToJsonString());
        Assert.Equal(expected, (await (await client.GetAsync("/api/rules/frequency", Ct)).OkAsync<JsonObject>()).ToJsonString());

        // A second PUT replaces the list; an empty list removes every cap.
        await (await client.PutAsync("/api/rules/frequency", Json("""{"rules": [{"channel": "push", "max": 2, "per": "P1D"}]}"""), Ct)).OkAsync<JsonObject>();
        await using (var db = app.Db())
        {
            var rule = Assert.Single(await db.FrequencyRules.ToListAsync(Ct));
            Assert.Equal(("push", 2, TimeSpan.FromDays(1)), (rule.Channel, rule.Max, rule.Per));
        }
        await (await client.PutAsync("/api/rules/frequency", Json("""{"rules": []}"""), Ct)).OkAsync<JsonObject>();
        Assert.Empty((await (await client.GetAsync("/api/rules/frequency", Ct)).OkAsync<JsonObject>())["rules"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"rules": [{"channel": "sms", "max": 3, "per": "P7D"}]}""", "rules[0].channel")]
    [InlineData("""{"rules": [{"max": 3, "per": "P7D"}]}""", "rules[0].channel")]
    [InlineData("""{"rules": [{"channel": "email", "max": 0, "per": "P7D"}]}""", "rules[0].max")]
    [InlineData("""{"rules": [{"channel": "email", "max": -2, "per": "P7D"}]}""", "rules[0].max")]
    [InlineData("""{"rules": [{"channel": "email", "per": "P7D"}]}""", "rules[0].max")]
    [InlineData("""{"rules": [{"channel": "email", "max": 3, "per": "P0D"}]}""", "rules[0].per")]
    [InlineData("""{"rules": [{"channel": "email", "max": 3, "per": "PT0S"}]}""", "rules[0].per")]
    [InlineData("""{"rules": [{"channel": "email", "max": 3, "per": "a week"}]}""", "rules[0].per")]
    [InlineData("""{"rules": [{"channel": "email", "max": 3}]}""", "rules[0].per")]
    [InlineData("""{"rules": [{"channel": "email", "max": 3, "per": "P7D"}, {"channel": "push", "max": 1, "per": "P400D"}]}""", "rules[1].per")]
    [InlineData("""{"rules": [null]}""", "rules[0]")]
    [InlineData("""{}""", "rules")]
    public async Task A_bad_rule_is_a_400_naming_the_field_and_changes_nothing(string body, string field)
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        var client = app.Admin();
        await (await client.PutAsync("/api/rules/frequency", Json("""{"rules": [{"channel": "email", "max": 3, "per": "P7D"}]}"""), Ct)).OkAsync<JsonObject>();

        var response = await client.PutAsync("/api/rules/frequency", Json(body), Ct);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = problem["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"{field} not named: {problem.ToJsonString()}");
        Assert.False(string.IsNullOrWhiteSpace(errors[field]![0]!.GetValue<string>()));

        var rules = (await (await client.GetAsync("/api/rules/frequency", Ct)).OkAsync<JsonObject>())["rules"]!.AsArray();
        Assert.Equal("email", Assert.Single(rules)!["channel"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"rules": [{"channel": "email", "max": 3.5, "per": "P7D"}]}""")]
    [InlineData("""{"rules": {"channel": "email"}}""")]
    [InlineData("""{"rules": [""")]
    public async Task Malformed_rules_are_a_400_problem(string body)
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        var response = await app.Admin().PutAsync("/api/rules/frequency", Json(body), Ct);
        await response.ProblemAsync(400);
    }

    [Fact]
    public async Task The_rules_need_the_admin_key()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        await (await app.WithKey(null).GetAsync("/api/rules/frequency", Ct)).ProblemAsync(401);
        await (await app.Ingest().PutAsync("/api/rules/frequency", Json("""{"rules": []}"""), Ct)).ProblemAsync(401);
    }
}
