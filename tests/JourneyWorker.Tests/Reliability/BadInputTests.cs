using System.Net.Http.Headers;
using System.Text;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Reliability;

/// <summary>Every route of the app, fed generated garbage with the admin key: never a 5xx, every 4xx a problem, nothing half-written.</summary>
public sealed class BadInputTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_route_answers_malformed_requests_with_4xx_problems_and_writes_nothing()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false").With("RateLimits:Tracking:PermitsPerSecond", "1000000")
            .With("RateLimits:SignIn:PermitsPerSecond", "1000000");
        var client = app.Admin();
        var routes = Routes(app).ToList();
        Assert.True(routes.Count >= 30, $"only {routes.Count} routes found");
        var failures = new List<string>();
        var sent = 0;
        foreach (var (method, pattern) in routes)
        {
            foreach (var url in Urls(pattern))
            {
                IEnumerable<Body?> bodies = method is "GET" or "DELETE" ? new Body?[] { null } : BadBodies();
                foreach (var body in bodies)
                {
                    var before = await CountRowsAsync(app);
                    using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = body?.Content() };
                    using var response = await client.SendAsync(request, Ct);
                    sent++;
                    var status = (int)response.StatusCode;
                    var what = $"{method} {Shorten(url)} [{body?.Name ?? "no body"}] -> {status}";
                    if (status >= 500)
                    {
                        failures.Add($"{what}: {Shorten(await response.Content.ReadAsStringAsync(Ct))}");
                    }
                    else if (status >= 400)
                    {
                        // The dashboard's pages answer a browser: their refusals may be HTML pages that say what to do.
                        var type = response.Content.Headers.ContentType?.MediaType;
                        if (type != "application/problem+json" && !(type == "text/html" && url.StartsWith("/dashboard", StringComparison.Ordinal)))
                        {
                            failures.Add($"{what}: content type {response.Content.Headers.ContentType}");
                        }
                        if (await CountRowsAsync(app) != before)
                        {
                            failures.Add($"{what}: rows changed although the request was refused");
                        }
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {sent} requests misbehaved:\n{string.Join("\n", failures.Take(40))}");
    }

    private static IEnumerable<(string Method, RoutePattern Pattern)> Routes(JourneyWorkerApp app)
    {
        _ = app.Server; // starts the host
        return app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (m, e.RoutePattern)));
    }

    /// <summary>One URL with plausible route values, then bad ones: non-guid ids, huge numbers, long and odd strings.</summary>
    private static IEnumerable<string> Urls(RoutePattern pattern)
    {
        yield return Fill(pattern, p => p.ParameterPolicies.Any(x => x.Content == "guid") ? Guid.NewGuid().ToString()
            : p.ParameterPolicies.Any(x => x.Content == "long") ? "1" : p.Name == "namespace" ? "email" : "a@example.com");
        if (pattern.Parameters.Count == 0)
        {
            yield break;
        }
        yield return Fill(pattern, _ => "not-a-guid");
        yield return Fill(pattern, _ => "99999999999999999999999999");
        yield return Fill(pattern, _ => "-1");
        yield return Fill(pattern, _ => new string('x', 5000));
        yield return Fill(pattern, _ => Uri.EscapeDataString("%00\u0001é\ud83d\ude00 ../.."));
    }

    private static string Fill(RoutePattern pattern, Func<RoutePatternParameterPart, string> value) =>
        "/" + string.Join("/", pattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart l => l.Content,
            RoutePatternSeparatorPart sep => sep.Content,
            RoutePatternParameterPart param => value(param),
            _ => "",
        }))));

    private sealed record Body(string Name, byte[] Bytes, string? ContentType)
    {
        public HttpContent Content()
        {
            var content = new ByteArrayContent(Bytes);
            if (ContentType is not null)
            {
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
            }
            return content;
        }
    }

    private static Body Json(string name, string json) => new(name, Encoding.UTF8.GetBytes(json), "application/json");

    private static Body[] BadBodies()
    {
        var huge = new string('a', 2 * 1024 * 1024);
        return
        [
            new("empty json", [], "application/json"),
            new("no content type", Encoding.UTF8.GetBytes("""{"name": "x"}"""), null),
            new("text/plain", Encoding.UTF8.GetBytes("hello"), "text/plain"),
            new("form", Encoding.UTF8.GetBytes("name=x&rule=y"), "application/x-www-form-urlencoded"),
            Json("malformed", """{"name": """),
            Json("trailing garbage", """{"name": "x"} }"""),
            Json("array", "[1, 2]"),
            Json("string", "\"x\""),
            Json("number", "42"),
            Json("null", "null"),
            Json("wrong field types", """{"name": 5, "rule": [], "nodes": "x", "fields": {}, "identities": 3, "attributes": "a", "enabled": "yes", "start": 1, "idType": 7, "waitOverride": 12}"""),
            Json("unknown fields", """{"zzz": 1, "name": "x", "__proto__": {}}"""),
            Json("huge string", $$"""{"name": "{{huge}}", "rule": "{{huge}}", "subject": "{{huge}}"}"""),
            Json("huge number", """{"name": 1e999999, "version": 99999999999999999999999}"""),
            Json("deep nesting", new string('[', 10_000) + new string(']', 10_000)),
            Json("deep object", string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000)),
            new("invalid utf-8", [.. Encoding.UTF8.GetBytes("{\"name\": \""), 0xff, 0xfe, 0xc3, 0x28, .. Encoding.UTF8.GetBytes("\"}")], "application/json"),
            Json("duplicate keys", """{"name": "a", "name": "b"}"""),
            Json("lone surrogate escape", """{"name": "\udc00x"}"""),
        ];
    }

    private static async Task<string> CountRowsAsync(JourneyWorkerApp app)
    {
        await using var db = app.Db();
        var tables = db.Model.GetEntityTypes().Select(t => t.GetTableName()).Distinct().Order().ToList();
        var sql = "SELECT " + string.Join(" || ',' || ", tables.Select(t => $"(SELECT COUNT(*) FROM \"{t}\")"));
        await db.Database.OpenConnectionAsync(Ct);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        return (string)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static string Shorten(string s) => s.Length > 200 ? s[..200] + "…" : s;
}
