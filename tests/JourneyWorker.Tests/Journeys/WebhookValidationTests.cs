using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Journeys;

/// <summary>One host whose webhooks may call hooks.example.com and any subdomain of example.org.</summary>
public sealed class WebhookValidationHost : IAsyncLifetime
{
    public JourneyWorkerApp App { get; } = WebhookReceiver.Allow(new JourneyWorkerApp(), "hooks.example.com", "*.example.org");
    public HttpClient Client { get; private set; } = null!;
    public string AudienceId { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        Client = App.Admin();
        var audience = await Client.PostAsJsonAsync("/api/audiences", new { name = "everyone", rule = "n > 0" });
        AudienceId = (await audience.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}

/// <summary>Webhook nodes through POST /validate and /publish: every code, and what a good webhook looks like.</summary>
public sealed class WebhookValidationTests(WebhookValidationHost host) : IClassFixture<WebhookValidationHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string J(string hook) =>
        $$"""{"name": "W", "start": "read", "nodes": [{"id": "read", "type": "readAudience", "audience": "{A}", "next": "{{JsonNode.Parse(hook)!["id"]}}"}, {{hook}}, {"id": "x", "type": "end"}]}""";

    private static string Hook(string members, string id = "hook") => $$"""{"id": "{{id}}", "type": "webhook", "next": "x", {{members}}}""";

    public static TheoryData<string, string> Errors => new()
    {
        { "webhook.urlMissing", Hook("\"method\": \"POST\"") },
        { "webhook.urlInvalid", Hook("\"url\": \"ftp://hooks.example.com/x\"") },
        { "webhook.urlInvalid", Hook("\"url\": \"hooks.example.com/x\"") },
        { "webhook.urlInvalid", Hook("\"url\": \"https://{{profile.host}}/x\"") },
        { "webhook.urlInvalid", Hook("\"url\": \"https://hooks.example.com{{profile.path}}\"") },
        { "webhook.urlInvalid", Hook("\"url\": \"https://user:secret@hooks.example.com/x\"") },
        { "webhook.hostNotAllowed", Hook("\"url\": \"https://evil.example.com/x\"") },
        { "webhook.hostNotAllowed", Hook("\"url\": \"https://example.org/x\"") },
        { "webhook.hostNotAllowed", Hook("\"url\": \"http://169.254.169.254/latest/meta-data\"") },
        { "webhook.methodInvalid", Hook("\"url\": \"https://hooks.example.com/x\", \"method\": \"TRACE\"") },
        { "webhook.bodyNotAllowed", Hook("\"url\": \"https://hooks.example.com/x\", \"method\": \"GET\", \"body\": \"{}\"") },
        { "webhook.headerInvalid", Hook("\"url\": \"https://hooks.example.com/x\", \"headers\": {\"Idempotency-Key\": \"mine\"}") },
        { "webhook.headerInvalid", Hook("\"url\": \"https://hooks.example.com/x\", \"headers\": {\"Bad Name\": \"x\"}") },
        { "webhook.idInvalid", Hook("\"url\": \"https://hooks.example.com/x\"", id: "call crm") },
        { "template.invalid", Hook("\"url\": \"https://hooks.example.com/x\", \"body\": \"{{ profile.name\"") },
        { "template.invalid", Hook("\"url\": \"https://hooks.example.com/x/{{ profile.id\"") },
        { "timeout.invalid", Hook("\"url\": \"https://hooks.example.com/x\", \"timeout\": \"10 seconds\"") },
        { "timeout.outOfRange", Hook("\"url\": \"https://hooks.example.com/x\", \"timeout\": \"PT61S\"") },
        { "timeout.notAllowed", Hook("\"url\": \"https://hooks.example.com/x\", \"timeoutNext\": \"x\"") },
        { "next.unknown", Hook("\"url\": \"https://hooks.example.com/x\", \"errorNext\": \"ghost\"") },
    };

    private async Task<(string Id, JsonObject Result)> ValidateAsync(string hook)
    {
        var body = J(hook).Replace("{A}", host.AudienceId, StringComparison.Ordinal);
        var created = await host.Client.PostAsync("/api/journeys", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        var id = (await created.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var response = await host.Client.PostAsync($"/api/journeys/{id}/validate", null, Ct);
        return (id, await response.OkAsync<JsonObject>());
    }

    private static string[] Codes(JsonObject result, string list) => [.. result[list]!.AsArray().Select(e => e!["code"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Each_error_code_is_reported_on_the_webhook_node(string code, string hook)
    {
        var (_, result) = await ValidateAsync(hook);
        Assert.False(result["valid"]!.GetValue<bool>());
        var error = Assert.Single(result["errors"]!.AsArray(), e => e!["code"]!.GetValue<string>() == code)!;
        Assert.NotNull(error["node"]);
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_host_not_allowed_names_the_host_and_blocks_publishing()
    {
        var (id, result) = await ValidateAsync(Hook("\"url\": \"https://evil.example.com/x/{{profile.id}}\""));
        var error = Assert.Single(result["errors"]!.AsArray())!;
        Assert.Equal(("hook", "webhook.hostNotAllowed"), (error["node"]!.GetValue<string>(), error["code"]!.GetValue<string>()));
        Assert.Contains("'evil.example.com'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var publish = await host.Client.PostAsync($"/api/journeys/{id}/publish", null, Ct);
        Assert.Equal(422, (int)publish.StatusCode);
        Assert.Contains("webhook.hostNotAllowed", await publish.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_good_webhook_is_valid_with_neither_errors_nor_warnings()
    {
        var (_, result) = await ValidateAsync(Hook("""
            "method": "put", "url": "https://api.eu.example.org:8443/customers/{{profile.id}}?src={{journey.name}}",
            "headers": {"X-Source": "journeyworker", "Authorization": "Bearer {{profile.token}}", "Content-Type": "application/vnd.crm+json"},
            "body": "{\"name\": {{profile.name | json}}}", "timeout": "PT30S", "errorNext": "x"
            """));
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Empty(result["errors"]!.AsArray());
        Assert.Empty(result["warnings"]!.AsArray());
    }

    [Fact]
    public async Task An_id_conditions_cannot_address_is_a_warning()
    {
        var (_, result) = await ValidateAsync(Hook("\"url\": \"https://hooks.example.com/x\"", id: "call-crm"));
        Assert.True(result["valid"]!.GetValue<bool>(), result.ToJsonString());
        Assert.Equal(["webhook.idNotAddressable"], Codes(result, "warnings"));
    }

    [Fact]
    public async Task Without_allowed_hosts_every_webhook_is_refused_and_the_message_says_why()
    {
        await using var app = new JourneyWorkerApp();
        var client = app.Admin();
        var audience = (await (await client.PostAsJsonAsync("/api/audiences", new { name = "everyone", rule = "n > 0" }, Ct)).OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var created = await client.PostAsync("/api/journeys",
            new StringContent(J(Hook("\"url\": \"https://hooks.example.com/x\"")).Replace("{A}", audience, StringComparison.Ordinal), Encoding.UTF8, "application/json"), Ct);
        var id = (await created.OkAsync<JsonObject>(201))["id"]!.GetValue<string>();
        var result = await (await client.PostAsync($"/api/journeys/{id}/validate", null, Ct)).OkAsync<JsonObject>();
        var error = Assert.Single(result["errors"]!.AsArray())!;
        Assert.Equal("webhook.hostNotAllowed", error["code"]!.GetValue<string>());
        Assert.Contains("lists no host", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
