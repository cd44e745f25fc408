using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Journeys;

/// <summary>One host for all validation cases: an audience and a "purchase" event configuration exist.</summary>
public sealed class ValidationHost : IAsyncLifetime
{
    public JourneyWorkerApp App { get; } = new();
    public HttpClient Client { get; private set; } = null!;
    public string AudienceId { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Client = App.Admin();
        var audience = await Client.PostAsJsonAsync("/api/audiences", new { name = "everyone", rule = "n > 0" });
        AudienceId = (await audience.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var config = await Client.PostAsJsonAsync("/api/event-configs",
            new { name = "purchase", idType = "ruleBased", condition = "kind = \"purchase\"", @namespace = "email", profileIdentifier = "email" });
        await config.OkAsync<JsonObject>(201);
    }

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}

/// <summary>Every validation code of JourneyValidator, each provoked by a compact journey through POST /validate.</summary>
public sealed class JourneyValidationCodeTests(ValidationHost host) : IClassFixture<ValidationHost>
{
    private const string Read = """{"id": "read", "type": "readAudience", "audience": "{A}", "next": "m"}""";
    private const string Mail = """{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>"}""";

    private static string MailTo(string next, string extra = "") =>
        $$"""{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>", "next": "{{next}}"{{extra}}}""";

    private static string J(string? start, string extra, params string[] nodes) =>
        $$"""{"name": "V"{{(start is null ? "" : $", \"start\": \"{start}\"")}}{{extra}}, "nodes": [{{string.Join(", ", nodes)}}]}""";

    private static string Update(string set) => $$"""{"id": "m", "type": "updateProfile", "set": {{set}}}""";

    private static string Reaction(string body) => J("read", "", Read, MailTo("r"), $$"""{"id": "r", "type": "reaction", {{body}}}""");

    public static TheoryData<string, string> Errors => new()
    {
        { "start.missing", J(null, "", Read, Mail) },
        { "start.unknownNode", J("nope", "", Read, Mail) },
        { "start.notEntry", J("m", "", Mail) },
        { "entry.notStart", J("read", "", Read, MailTo("read2"), """{"id": "read2", "type": "readAudience", "audience": "{A}"}""") },
        { "node.duplicateId", J("read", "", Read, Mail, Mail) },
        { "node.idMissing", J("read", "", Read, Mail, """{"type": "end"}""") },
        { "node.typeUnknown", J("read", "", Read, """{"id": "m", "type": "sms"}""") },
        { "node.unknownProperty", J("read", "", Read, """{"id": "m", "type": "email", "subject": "Hi", "html": "x", "colour": "red"}""") },
        { "next.unknown", J("read", "", Read, MailTo("ghost")) },
        { "graph.cycle", J("read", "", Read, MailTo("w"), """{"id": "w", "type": "wait", "duration": "PT1H", "next": "m"}""") },
        { "graph.cycle", J("read", "", Read, MailTo("m")) },
        { "reaction.notAfterMessage", J("read", "", Read, MailTo("w"), """{"id": "w", "type": "wait", "duration": "PT1H", "next": "r"}""",
            """{"id": "r", "type": "reaction", "action": "m", "reaction": "emailOpened"}""") },
        { "reaction.actionMismatch", Reaction("\"action\": \"other\", \"reaction\": \"emailOpened\"") },
        { "reaction.channelMismatch", Reaction("\"action\": \"m\", \"reaction\": \"pushOpened\"") },
        { "reaction.kindInvalid", Reaction("\"action\": \"m\", \"reaction\": \"liked\"") },
        { "timeout.outOfRange", Reaction("\"action\": \"m\", \"reaction\": \"emailOpened\", \"timeout\": \"PT39S\"") },
        { "timeout.outOfRange", Reaction("\"action\": \"m\", \"reaction\": \"emailOpened\", \"timeout\": \"P90DT1S\"") },
        { "timeout.invalid", Reaction("\"action\": \"m\", \"reaction\": \"emailOpened\", \"timeout\": \"1 day\"") },
        { "timeout.missing", Reaction("\"action\": \"m\", \"reaction\": \"emailOpened\", \"timeoutNext\": \"m\"") },
        { "timeout.notAllowed", J("read", "", Read, """{"id": "m", "type": "wait", "duration": "PT1H", "timeout": "PT1H"}""") },
        { "event.entryTimeout", J("e", "", """{"id": "e", "type": "event", "event": "purchase", "timeout": "PT1H", "next": "m"}""", Mail) },
        { "event.unknown", J("e", "", """{"id": "e", "type": "event", "event": "nosuch", "next": "m"}""", Mail) },
        { "event.missing", J("e", "", """{"id": "e", "type": "event", "next": "m"}""", Mail) },
        { "wait.exceedsJourneyTimeout", J("read", ", \"timeout\": \"PT1H\"", Read, MailTo("w"), """{"id": "w", "type": "wait", "duration": "PT2H"}""") },
        { "wait.invalid", J("read", "", Read, MailTo("w"), """{"id": "w", "type": "wait"}""") },
        { "wait.invalid", J("read", "", Read, MailTo("w"), """{"id": "w", "type": "wait", "duration": "soon"}""") },
        { "audience.unknown", J("read", "", Read.Replace("{A}", Guid.NewGuid().ToString(), StringComparison.Ordinal), Mail) },
        { "audience.unknown", J("read", "", Read.Replace("{A}", "not-a-guid", StringComparison.Ordinal), Mail) },
        { "audience.missing", J("read", "", """{"id": "read", "type": "readAudience", "next": "m"}""", Mail) },
        { "throttle.invalid", J("read", "", """{"id": "read", "type": "readAudience", "audience": "{A}", "throttle": 0, "next": "m"}""", Mail) },
        { "schedule.invalid", J("read", "", """{"id": "read", "type": "readAudience", "audience": "{A}", "schedule": {"frequency": "hourly"}, "next": "m"}""", Mail) },
        { "schedule.invalid", J("read", "", """{"id": "read", "type": "readAudience", "audience": "{A}", "schedule": {"frequency": "cron", "cron": "every day"}, "next": "m"}""", Mail) },
        { "template.invalid", J("read", "", Read, """{"id": "m", "type": "email", "subject": "Hi {{ profile.name", "html": "x"}""") },
        { "template.missing", J("read", "", Read, """{"id": "m", "type": "push", "title": "Hi"}""") },
        { "condition.invalid", J("read", "", Read, """{"id": "m", "type": "condition", "branches": [{"when": "n = = 3", "next": "x"}]}""", """{"id": "x", "type": "end"}""") },
        { "condition.noBranches", J("read", "", Read, """{"id": "m", "type": "condition", "otherwise": "x"}""", """{"id": "x", "type": "end"}""") },
        { "condition.branchInvalid", J("read", "", Read, """{"id": "m", "type": "condition", "branches": [{"percent": 60, "next": "x"}, {"percent": 50, "next": "x"}]}""", """{"id": "x", "type": "end"}""") },
        { "condition.branchInvalid", J("read", "", Read, """{"id": "m", "type": "condition", "branches": [{"when": "n > 1", "percent": 5, "next": "x"}]}""", """{"id": "x", "type": "end"}""") },
        { "errorNext.notAllowed", J("read", "", Read, """{"id": "m", "type": "end", "errorNext": "read"}""") },
        { "journey.timeoutInvalid", J("read", ", \"timeout\": \"forever\"", Read, Mail) },
        { "journey.timeoutInvalid", J("read", ", \"timeout\": \"P10000000D\"", Read, Mail) },
        { "reentrance.waitPeriodInvalid", J("read", ", \"reentrance\": {\"allowed\": true, \"waitPeriod\": \"P10000000D\"}", Read, Mail) },
        { "reentrance.waitPeriodInvalid", J("read", ", \"reentrance\": {\"allowed\": true, \"waitPeriod\": \"a while\"}", Read, Mail) },
        { "updateProfile.setEmpty", J("read", "", Read, Update("{}")) },
        { "updateProfile.setEmpty", J("read", "", Read, """{"id": "m", "type": "updateProfile"}""") },
        { "updateProfile.setTooLarge", J("read", "", Read, Update($"{{{string.Join(", ", Enumerable.Range(0, 51).Select(i => $"\"a{i}\": \"x\""))}}}")) },
        { "updateProfile.pathInvalid", J("read", "", Read, Update("""{"a..b": "x"}""")) },
        { "updateProfile.pathInvalid", J("read", "", Read, Update("""{"1st": "x"}""")) },
        { "updateProfile.pathInvalid", J("read", "", Read, Update("""{"a.b-c": "x"}""")) },
        { "updateProfile.consentNotUpdatable", J("read", "", Read, Update("""{"consent.email": "false"}""")) },
        { "updateProfile.consentNotUpdatable", J("read", "", Read, Update("""{"ConsentPush": "{{ false }}"}""")) },
        { "updateProfile.identityNotUpdatable", J("read", "", Read, Update("""{"personalEmail.address": "x@example.com"}""")) },
        { "updateProfile.identityNotUpdatable", J("read", "", Read, Update("""{"personalEmail": "x"}""")) },
        { "updateProfile.pathConflict", J("read", "", Read, Update("""{"a": "1", "a.b": "2"}""")) },
        { "template.invalid", J("read", "", Read, Update("""{"a": "{{ profile.n"}""")) },
        { "template.missing", J("read", "", Read, Update("""{"a": ""}""")) },
        { "set.notAllowed", J("read", "", Read, """{"id": "m", "type": "end", "set": {"a": "1"}}""") },
        { "journey.notAllowed", J("read", "", Read, """{"id": "m", "type": "end", "journey": "x"}""") },
        { "jump.journeyMissing", J("read", "", Read, """{"id": "m", "type": "jump"}""") },
        { "jump.journeyUnknown", J("read", "", Read, $$"""{"id": "m", "type": "jump", "journey": "{{Guid.NewGuid()}}"}""") },
        { "jump.journeyUnknown", J("read", "", Read, """{"id": "m", "type": "jump", "journey": "welcome"}""") },
        { "journeyEntry.notStart", J("read", "", Read, """{"id": "m", "type": "journeyEntry"}""") },
        { "start.notEntry", J("m", "", """{"id": "m", "type": "jump", "journey": "welcome"}""") },
        { "nodes.empty", J("read", "") },
        { "nodes.tooMany", J("read", "", [Read, MailTo("x0"), .. Enumerable.Range(0, 49).Select(i => $$"""{"id": "x{{i}}", "type": "end"}""")]) },
    };

    private async Task<JsonObject> ValidateAsync(string journey)
    {
        var body = journey.Replace("{A}", host.AudienceId, StringComparison.Ordinal);
        var created = await host.Client.PostAsync("/api/journeys", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var id = (await created.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var response = await host.Client.PostAsync($"/api/journeys/{id}/validate", null, TestContext.Current.CancellationToken);
        return await response.OkAsync<JsonObject>();
    }

    private static string[] Codes(JsonObject result, string list) => [.. result[list]!.AsArray().Select(e => e!["code"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Each_error_code_is_reported_and_makes_the_journey_invalid(string code, string journey)
    {
        var result = await ValidateAsync(journey);
        Assert.False(result["valid"]!.GetValue<bool>());
        Assert.Contains(code, Codes(result, "errors"));
        Assert.All(result["errors"]!.AsArray(), e => Assert.False(string.IsNullOrEmpty(e!["message"]!.GetValue<string>())));
    }

    [Theory]
    [InlineData("node.unreachable", """{"id": "orphan", "type": "end"}""")]
    [InlineData("end.next", """{"id": "m", "type": "end", "next": "orphan"}""")]
    public async Task Warnings_do_not_make_the_journey_invalid(string code, string node)
    {
        var result = await ValidateAsync(J("read", "", Read, node.Contains("\"m\"", StringComparison.Ordinal) ? node : Mail,
            node.Contains("\"m\"", StringComparison.Ordinal) ? """{"id": "orphan", "type": "end"}""" : node));
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Contains(code, Codes(result, "warnings"));
        Assert.Empty(result["errors"]!.AsArray());
    }

    [Fact]
    public async Task A_good_journey_is_valid_with_neither_errors_nor_warnings()
    {
        var result = await ValidateAsync(J("read", ", \"timeout\": \"P30D\"", Read, MailTo("r"),
            """{"id": "r", "type": "reaction", "action": "m", "reaction": "emailOpened", "timeout": "PT40S", "timeoutNext": "e", "next": "e"}""",
            """{"id": "e", "type": "event", "event": "purchase", "timeout": "P29D", "next": "c"}""",
            """{"id": "c", "type": "condition", "branches": [{"when": "profile.n > 1", "next": "x"}, {"percent": 50, "next": "x"}], "otherwise": "x"}""",
            """{"id": "x", "type": "end"}"""));
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Empty(result["errors"]!.AsArray());
        Assert.Empty(result["warnings"]!.AsArray());
    }
}
