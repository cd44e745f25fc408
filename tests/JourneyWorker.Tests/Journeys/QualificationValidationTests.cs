using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Journeys;

/// <summary>The validation codes of the audienceQualification entry, through POST /validate and publish.</summary>
public sealed class QualificationValidationTests(ValidationHost host) : IClassFixture<ValidationHost>
{
    private const string Mail = """{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>"}""";

    private static string Q(string members) => $$"""{"id": "q", "type": "audienceQualification", {{members}}, "next": "m"}""";

    private static string J(string start, params string[] nodes) =>
        $$"""{"name": "Q", "start": "{{start}}", "nodes": [{{string.Join(", ", nodes)}}]}""";

    public static TheoryData<string, string> Errors => new()
    {
        { "audienceQualification.audienceMissing", J("q", Q("\"on\": \"enter\""), Mail) },
        { "audienceQualification.audienceMissing", J("q", Q("\"audience\": \" \", \"on\": \"enter\""), Mail) },
        { "audience.unknown", J("q", Q($"\"audience\": \"{Guid.NewGuid()}\", \"on\": \"exit\""), Mail) },
        { "audience.unknown", J("q", Q("\"audience\": \"everyone\", \"on\": \"exit\""), Mail) },
        { "audienceQualification.onInvalid", J("q", Q("\"audience\": \"{A}\""), Mail) },
        { "audienceQualification.onInvalid", J("q", Q("\"audience\": \"{A}\", \"on\": \"join\""), Mail) },
        { "audienceQualification.onInvalid", J("q", Q("\"audience\": \"{A}\", \"on\": \"Enter\""), Mail) },
        { "audienceQualification.scheduleNotAllowed", J("q", Q("\"audience\": \"{A}\", \"on\": \"enter\", \"schedule\": {\"frequency\": \"daily\"}"), Mail) },
        { "audienceQualification.scheduleNotAllowed", J("q", Q("\"audience\": \"{A}\", \"on\": \"enter\", \"throttle\": 10"), Mail) },
        { "audienceQualification.notStart", J("read",
            """{"id": "read", "type": "readAudience", "audience": "{A}", "next": "q"}""", Q("\"audience\": \"{A}\", \"on\": \"enter\""), Mail) },
        { "on.notAllowed", J("q", Q("\"audience\": \"{A}\", \"on\": \"enter\""), """{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>", "on": "enter"}""") },
        { "start.notEntry", J("m", Mail) },
    };

    private async Task<(string Id, JsonObject Result)> ValidateAsync(string journey)
    {
        var body = journey.Replace("{A}", host.AudienceId, StringComparison.Ordinal);
        var created = await host.Client.PostAsync("/api/journeys", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var id = (await created.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var response = await host.Client.PostAsync($"/api/journeys/{id}/validate", null, TestContext.Current.CancellationToken);
        return (id, await response.OkAsync<JsonObject>());
    }

    private static string[] Codes(JsonObject result) => [.. result["errors"]!.AsArray().Select(e => e!["code"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Each_error_code_is_reported_on_its_node_and_blocks_publishing(string code, string journey)
    {
        var (id, result) = await ValidateAsync(journey);
        Assert.False(result["valid"]!.GetValue<bool>());
        Assert.Contains(code, Codes(result));
        var error = result["errors"]!.AsArray().First(e => e!["code"]!.GetValue<string>() == code)!;
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.Equal(code == "on.notAllowed" || code == "start.notEntry" ? "m" : "q", error["node"]!.GetValue<string>());

        var publish = await host.Client.PostAsync($"/api/journeys/{id}/publish", null, TestContext.Current.CancellationToken);
        Assert.Equal(422, (int)publish.StatusCode);
    }

    [Theory]
    [InlineData("enter")]
    [InlineData("exit")]
    public async Task A_qualification_start_is_an_entry_and_valid(string on)
    {
        var (_, result) = await ValidateAsync(J("q", Q($"\"audience\": \"{{A}}\", \"on\": \"{on}\""), Mail));
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Empty(result["errors"]!.AsArray());
        Assert.Empty(result["warnings"]!.AsArray());
    }
}
