using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.OpenApi;

/// <summary>
/// What a client generator needs from every operation of the served document, checked one by one (the lint checks the
/// rules it knows; these are the project's own): a name, words, examples, the problems it answers and the key it takes.
/// </summary>
public sealed class OpenApiDocumentTests : IClassFixture<JourneyWorkerApp>
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];
    private readonly JourneyWorkerApp _app;

    public OpenApiDocumentTests(JourneyWorkerApp app) => _app = app;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<JsonObject> DocumentAsync() =>
        JsonNode.Parse(await _app.WithKey(null).GetStringAsync("/swagger/v1/swagger.json", Ct))!.AsObject();

    private static IEnumerable<(string Path, string Method, JsonObject Operation)> Operations(JsonObject document) =>
        from path in document["paths"]!.AsObject()
        from method in path.Value!.AsObject()
        where Methods.Contains(method.Key)
        select (path.Key, method.Key, method.Value!.AsObject());

    [Fact]
    public async Task Every_operation_has_a_unique_id_a_summary_a_description_and_a_described_tag()
    {
        var document = await DocumentAsync();
        var tags = document["tags"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!["description"]?.GetValue<string>());
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, method, operation) in Operations(document))
        {
            var where = $"{method.ToUpperInvariant()} {path}";
            Assert.True(ids.Add(operation["operationId"]?.GetValue<string>() ?? ""), $"{where}: no operationId, or one used twice");
            Assert.False(string.IsNullOrWhiteSpace(operation["summary"]?.GetValue<string>()), $"{where}: no summary");
            Assert.False(string.IsNullOrWhiteSpace(operation["description"]?.GetValue<string>()), $"{where}: no description");
            var tag = Assert.Single(operation["tags"]!.AsArray())!.GetValue<string>();
            Assert.False(string.IsNullOrWhiteSpace(tags.GetValueOrDefault(tag)), $"{where}: tag '{tag}' is not described");
            Assert.All(operation["parameters"]?.AsArray() ?? [], p => Assert.False(string.IsNullOrWhiteSpace(p!["description"]?.GetValue<string>()), $"{where}: parameter {p["name"]} is not described"));
        }
        Assert.Equal(41, ids.Count); // 37 admin and intake operations, 4 tracking routes (the click redirect is no API operation)
    }

    [Fact]
    public async Task Every_request_and_response_body_has_an_example_and_every_problem_is_problem_details()
    {
        var document = await DocumentAsync();
        foreach (var (path, method, operation) in Operations(document))
        {
            var where = $"{method.ToUpperInvariant()} {path}";
            foreach (var (type, media) in operation["requestBody"]?["content"]?.AsObject() ?? [])
            {
                Assert.True(media!["example"] is not null, $"{where}: the {type} request body has no example");
            }
            foreach (var (status, response) in operation["responses"]!.AsObject())
            {
                var content = response!["content"]?.AsObject() ?? [];
                Assert.False(string.IsNullOrWhiteSpace(response["description"]?.GetValue<string>()), $"{where} {status}: no description");
                if (status.StartsWith('4') || status.StartsWith('5'))
                {
                    var problem = Assert.Single(content);
                    Assert.Equal("application/problem+json", problem.Key);
                    Assert.EndsWith("ProblemDetails", problem.Value!["schema"]!["$ref"]!.GetValue<string>(), StringComparison.Ordinal);
                    Assert.Equal(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), problem.Value["example"]!["status"]!.GetValue<int>());
                }
                foreach (var (type, media) in content.Where(c => !c.Key.StartsWith("image/", StringComparison.Ordinal)))
                {
                    Assert.True(media!["example"] is not null, $"{where} {status}: the {type} response has no example");
                }
            }
        }
    }

    [Fact]
    public async Task Each_operation_names_the_api_key_it_takes_and_answers_401_without_it()
    {
        var document = await DocumentAsync();
        Assert.Null(document["security"]);
        foreach (var scheme in new[] { "AdminKey", "IngestKey" })
        {
            var definition = document["components"]!["securitySchemes"]![scheme]!;
            Assert.Equal(("apiKey", "header", "X-Api-Key"), (definition["type"]!.GetValue<string>(), definition["in"]!.GetValue<string>(), definition["name"]!.GetValue<string>()));
        }
        foreach (var (path, method, operation) in Operations(document))
        {
            var schemes = operation["security"]!.AsArray().Select(r => string.Join('+', r!.AsObject().Select(s => s.Key))).ToList();
            List<string> expected = path.StartsWith("/t/", StringComparison.Ordinal) ? []
                : path == "/api/events" ? ["IngestKey", "AdminKey"]
                : ["AdminKey"];
            Assert.True(expected.SequenceEqual(schemes), $"{method} {path}: security [{string.Join(", ", schemes)}]");
            Assert.Equal(expected.Count > 0, operation["responses"]!["401"] is not null);
        }
    }

    [Fact]
    public async Task Problems_are_declared_where_the_routes_give_them()
    {
        var document = await DocumentAsync();
        string[] Statuses(string path, string method) => [.. document["paths"]![path]![method]!["responses"]!.AsObject().Select(r => r.Key).Order()];

        Assert.Equal(["202", "400", "401", "413", "429", "503"], Statuses("/api/events", "post"));
        Assert.Equal(["201", "400", "401", "409", "413", "415"], Statuses("/api/event-configs", "post"));
        Assert.Equal(["204", "401", "404", "409"], Statuses("/api/audiences/{id}", "delete"));
        Assert.Equal(["200", "401", "404", "409", "422"], Statuses("/api/journeys/{id}/publish", "post"));
        Assert.Equal(["200", "401"], Statuses("/api/journeys", "get"));
        Assert.Equal(["200", "202", "401", "413"], Statuses("/api/profiles/import", "post"));
        Assert.Equal(["204", "404", "429"], Statuses("/t/p/{token}", "post"));
        Assert.Equal("/", document["servers"]![0]!["url"]!.GetValue<string>());
    }
}
