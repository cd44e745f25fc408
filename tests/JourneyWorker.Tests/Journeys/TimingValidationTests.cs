using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Journeys;

/// <summary>The validation codes of message categories, capped paths, send windows and waits until a local time.</summary>
public sealed class TimingValidationTests(ValidationHost host) : IClassFixture<ValidationHost>
{
    private const string Read = """{"id": "read", "type": "readAudience", "audience": "{A}", "next": "m"}""";
    private const string End = """{"id": "x", "type": "end"}""";

    private static string J(params string[] nodes) => $$"""{"name": "V", "start": "read", "nodes": [{{string.Join(", ", [Read, .. nodes])}}]}""";

    private static string Mail(string extra) => $$"""{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>", "next": "x"{{extra}}}""";

    private static string Window(string window) => J(Mail($", \"sendWindow\": {window}"), End);

    private static string Until(string until) => J($$"""{"id": "m", "type": "wait", "until": {{until}}, "next": "x"}""", End);

    public static TheoryData<string, string> Errors => new()
    {
        { "category.invalid", J(Mail(", \"category\": \"promotional\""), End) },
        { "category.notAllowed", J("""{"id": "m", "type": "wait", "duration": "PT1H", "category": "marketing", "next": "x"}""", End) },
        { "cappedNext.notAllowed", J("""{"id": "m", "type": "wait", "duration": "PT1H", "cappedNext": "x", "next": "x"}""", End) },
        { "sendWindow.notAllowed", J("""{"id": "m", "type": "end", "sendWindow": {"days": ["mon"], "from": "09:00", "to": "10:00"}}""") },
        { "cappedNext.transactional", J(Mail(", \"category\": \"transactional\", \"cappedNext\": \"x\""), End) },
        { "next.unknown", J(Mail(", \"cappedNext\": \"ghost\""), End) },
        { "graph.cycle", J(Mail(", \"cappedNext\": \"m\""), End) },
        { "sendWindow.daysInvalid", Window("""{"days": [], "from": "09:00", "to": "10:00"}""") },
        { "sendWindow.daysInvalid", Window("""{"from": "09:00", "to": "10:00"}""") },
        { "sendWindow.daysInvalid", Window("""{"days": ["mon", "monday"], "from": "09:00", "to": "10:00"}""") },
        { "sendWindow.daysInvalid", Window("""{"days": [null], "from": "09:00", "to": "10:00"}""") },
        { "sendWindow.timeInvalid", Window("""{"days": ["mon"], "from": "9am", "to": "10:00"}""") },
        { "sendWindow.timeInvalid", Window("""{"days": ["mon"], "from": "09:00", "to": "24:00"}""") },
        { "sendWindow.timeInvalid", Window("""{"days": ["mon"], "from": "09:00"}""") },
        { "sendWindow.empty", Window("""{"days": ["mon"], "from": "09:00", "to": "09:00"}""") },
        { "timeZone.unknown", Window("""{"days": ["mon"], "from": "09:00", "to": "10:00", "timeZone": "Mars/Olympus_Mons"}""") },
        { "timeZone.unknown", Window("""{"days": ["mon"], "from": "09:00", "to": "10:00", "timeZone": "Profile"}""") },
        { "node.unknownProperty", Window("""{"days": ["mon"], "from": "09:00", "to": "10:00", "tz": "UTC"}""") },
        { "wait.invalid", Until("""{"time": "25:00"}""") },
        { "wait.invalid", Until("""{"timeZone": "profile"}""") },
        { "timeZone.unknown", Until("""{"time": "09:00", "timeZone": "Europe/Atlantis"}""") },
        { "node.unknownProperty", Until("""{"time": "09:00", "zone": "UTC"}""") },
        { "wait.invalid", J("""{"id": "m", "type": "wait", "until": {"time": "09:00"}, "duration": "PT1H", "next": "x"}""", End) },
    };

    private async Task<JsonObject> ValidateAsync(string journey)
    {
        var body = journey.Replace("{A}", host.AudienceId, StringComparison.Ordinal);
        var created = await host.Client.PostAsync("/api/journeys", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var id = (await created.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var response = await host.Client.PostAsync($"/api/journeys/{id}/validate", null, TestContext.Current.CancellationToken);
        return await response.OkAsync<JsonObject>();
    }

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Each_error_code_is_reported_on_its_node_with_a_message(string code, string journey)
    {
        var result = await ValidateAsync(journey);
        Assert.False(result["valid"]!.GetValue<bool>());
        var error = result["errors"]!.AsArray().FirstOrDefault(e => e!["code"]!.GetValue<string>() == code);
        Assert.True(error is not null, $"no {code} in {result.ToJsonString()}");
        Assert.Equal("m", error["node"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Categories_capped_paths_windows_and_local_waits_make_a_valid_journey()
    {
        var result = await ValidateAsync(J(
            """{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>", "category": "marketing", "cappedNext": "p", "next": "w", "sendWindow": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "20:00", "to": "08:00", "timeZone": "America/New_York"}}""",
            """{"id": "w", "type": "wait", "until": {"time": "09:00", "timeZone": "profile"}, "next": "p"}""",
            """{"id": "p", "type": "push", "title": "Receipt", "body": "Paid", "category": "transactional", "next": "x", "sendWindow": {"days": ["sat"], "from": "10:00", "to": "12:00"}}""",
            End));
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Empty(result["warnings"]!.AsArray());
    }

    [Theory]
    [InlineData("\"tomorrow\"")]
    [InlineData("5")]
    [InlineData("[\"09:00\"]")]
    public async Task An_until_that_is_neither_a_moment_nor_a_local_time_is_a_400(string until)
    {
        var body = J($$"""{"id": "m", "type": "wait", "until": {{until}}, "next": "x"}""", End).Replace("{A}", host.AudienceId, StringComparison.Ordinal);
        var created = await host.Client.PostAsync("/api/journeys", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var problem = await created.ProblemAsync(400);
        Assert.Contains("until", problem.Detail, StringComparison.Ordinal);
    }
}
