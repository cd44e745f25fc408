using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Events;

/// <summary>Events as the intake tests send them: a purchase payload, a POST with an optional Idempotency-Key, its 202 body.</summary>
internal static class IntakeRequests
{
    public static string Purchase(int n, string product = "Shoes") =>
        $$"""{"kind": "purchase", "email": "{{Email(n)}}", "product": "{{product}}"}""";

    public static Task<HttpResponseMessage> Post(EngineHarness h, string json, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        return h.App.Ingest().SendAsync(request, Ct);
    }

    public static async Task<JsonNode> AcceptedAsync(Task<HttpResponseMessage> post)
    {
        var response = await post;
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        return JsonNode.Parse(body)!;
    }
}
