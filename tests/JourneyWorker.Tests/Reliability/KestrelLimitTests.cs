using System.Text;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Reliability;

/// <summary>Limits that only a real Kestrel enforces (the in-memory test server has no body limit).</summary>
public sealed class KestrelLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/api/audiences", true)]
    [InlineData("/api/audiences", false)]
    [InlineData("/api/journeys", false)]
    [InlineData("/api/events", false)]
    public async Task A_body_over_the_limit_is_a_413_problem(string url, bool withLength)
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        app.UseKestrel(0);
        app.StartServer();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal)) };
        client.DefaultRequestHeaders.Add("X-Api-Key", JourneyWorkerApp.AdminKey);
        var json = Encoding.UTF8.GetBytes($$"""{"name": "{{new string('a', (url == "/api/events" ? 64 : 4096) * 1024)}}"}""");
        HttpContent content = withLength ? new ByteArrayContent(json) : new StreamContent(new MemoryStream(json));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        // A server that refuses a body early closes the connection; 100-continue and a body just over the
        // limit keep the client from writing into a closed socket, so that it can read the answer.
        request.Headers.ExpectContinue = true;
        if (!withLength)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        using var response = await client.SendAsync(request, Ct);
        await response.ProblemAsync(413);
    }
}
