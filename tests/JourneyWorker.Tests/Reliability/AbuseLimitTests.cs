using System.Net;
using System.Text;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Reliability;

public sealed class AbuseLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Intake_over_its_limit_gets_429_problem_with_retry_after()
    {
        await using var app = new JourneyWorkerApp().With("RateLimits:Intake:PermitsPerSecond", "3");
        var client = app.Ingest();
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 20; i++)
        {
            statuses.Add(await client.PostAsync("/api/events", new StringContent("""{"a": 1}""", Encoding.UTF8, "application/json"), Ct));
        }

        Assert.Contains(statuses, r => r.StatusCode == HttpStatusCode.Accepted);
        var refused = statuses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        var problem = await refused.ProblemAsync(429);
        Assert.Equal("Too many requests", problem.Title);
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        // Other routes are not limited.
        Assert.Equal(HttpStatusCode.OK, (await app.Admin().GetAsync("/api/audiences", Ct)).StatusCode);
    }

    [Fact]
    public async Task Tracking_over_its_per_ip_limit_gets_429_problem_with_retry_after()
    {
        await using var app = new JourneyWorkerApp().With("RateLimits:Tracking:PermitsPerSecond", "2");
        var client = app.WithKey(null);
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 20; i++)
        {
            responses.Add(await client.GetAsync("/t/o/forged-token", Ct));
        }

        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.NotFound);
        var refused = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        await refused.ProblemAsync(429);
        Assert.True(refused.Headers.RetryAfter is not null);
    }

    [Fact]
    public async Task A_bucket_is_full_again_once_a_second_has_passed()
    {
        await using var app = new JourneyWorkerApp().With("RateLimits:Tracking:PermitsPerSecond", "2");
        var client = app.WithKey(null);
        async Task<HttpStatusCode> Open() => (await client.GetAsync("/t/o/forged-token", Ct)).StatusCode;

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], [await Open(), await Open(), await Open()]);
        app.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Open());
        app.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], [await Open(), await Open(), await Open()]);
    }

    [Fact]
    public async Task A_limit_below_one_stops_the_service_at_start()
    {
        await using var app = new JourneyWorkerApp().With("RateLimits:Tracking:PermitsPerSecond", "0");
        var error = Assert.ThrowsAny<Exception>(() => app.WithKey(null));
        Assert.Contains("RateLimits", error.ToString(), StringComparison.Ordinal);
    }
}
