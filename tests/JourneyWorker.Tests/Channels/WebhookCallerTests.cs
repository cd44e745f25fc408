using System.Net;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace JourneyWorker.Tests.Channels;

/// <summary>The webhook caller as registered by AddChannels, against a real receiver on loopback, on a fake clock.</summary>
public sealed class WebhookCallerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    private IHost Host(params (string Key, string? Value)[] settings)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddChannels();
        return builder.Build();
    }

    private IHost Allowing(params string[] hosts) =>
        Host([("Webhooks:SigningKey", WebhookReceiver.SigningKey), .. hosts.Select((h, i) => ($"Webhooks:AllowedHosts:{i}", (string?)h))]);

    private static WebhookRequest Call(string url, string? body = """{"a": 1}""", TimeSpan? timeout = null) =>
        new("POST", new Uri(url), [], body, timeout ?? TimeSpan.FromSeconds(10), "7-hook");

    [Theory]
    [InlineData("*", "localhost", false)]          // a wildcard never reaches loopback
    [InlineData("*", "127.0.0.1", false)]          // nor an address written out, unless listed
    [InlineData("127.0.0.1", "localhost", false)]  // listing the address does not list a name for it
    [InlineData("localhost", "localhost", true)]   // a name listed itself may
    [InlineData("127.0.0.1", "127.0.0.1", true)]
    public async Task Loopback_is_reached_only_through_a_host_listed_itself(string allowed, string host, bool reached)
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        using var app = Allowing(allowed);
        var result = await app.Services.GetRequiredService<IWebhookCaller>().CallAsync(Call($"http://{host}:{receiver.Port}/x"), Ct);

        Assert.Equal(reached ? SendOutcome.Sent : SendOutcome.Failed, result.Outcome);
        Assert.Equal(reached ? 1 : 0, receiver.Calls.Count);
        if (!reached)
        {
            Assert.Matches(allowed == host ? "resolves to" : "(resolves to|not in Webhooks:AllowedHosts)", result.Error);
        }
    }

    [Fact]
    public async Task A_large_answer_is_excerpted_and_not_kept_a_small_one_is_parsed()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        using var app = Allowing("127.0.0.1");
        var caller = app.Services.GetRequiredService<IWebhookCaller>();
        receiver.ReplyNext(new WebhookReply(200, $$"""{"blob": "{{new string('x', 70_000)}}"}"""));

        var big = await caller.CallAsync(Call($"{receiver.BaseUrl}/big"), Ct);
        Assert.Equal(SendOutcome.Sent, big.Outcome);
        Assert.Null(big.Webhook!.Json);
        Assert.Equal(HttpWebhookCaller.ExcerptLength + 1, big.Webhook.Excerpt.Length);
        Assert.Contains("over 64 KiB: not kept", big.Webhook.Describe(), StringComparison.Ordinal);

        var small = await caller.CallAsync(Call($"{receiver.BaseUrl}/small"), Ct);
        Assert.Equal(42, small.Webhook!.Json!["points"]!.GetValue<int>());
        Assert.Null(small.Webhook.Note);
    }

    [Fact]
    public async Task A_call_without_an_answer_gives_up_after_its_timeout_and_is_worth_another_attempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        using var app = Allowing("127.0.0.1");
        receiver.ReplyNext(new WebhookReply(200, "", Hold: true));

        var calling = app.Services.GetRequiredService<IWebhookCaller>().CallAsync(Call($"{receiver.BaseUrl}/slow", timeout: TimeSpan.FromSeconds(5)), Ct);
        await receiver.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.False(calling.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));
        var result = await calling.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Equal("No answer within 5 s.", result.Error);
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_fails()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        using var app = Allowing("127.0.0.1");
        receiver.ReplyNext(new WebhookReply(307, "", Location: $"{receiver.BaseUrl}/elsewhere"));

        var result = await app.Services.GetRequiredService<IWebhookCaller>().CallAsync(Call($"{receiver.BaseUrl}/x"), Ct);
        Assert.Equal(SendOutcome.Failed, result.Outcome);
        Assert.Contains("redirects are not followed", result.Error, StringComparison.Ordinal);
        Assert.Equal("/x", Assert.Single(receiver.Calls).Path);
    }

    [Fact]
    public async Task A_call_without_a_body_is_signed_over_the_empty_body()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        using var app = Allowing("127.0.0.1");
        var result = await app.Services.GetRequiredService<IWebhookCaller>().CallAsync(
            new WebhookRequest("DELETE", new Uri($"{receiver.BaseUrl}/customers/7"), [new("X-Source", "journeyworker")], null, TimeSpan.FromSeconds(10), "7-hook"), Ct);

        Assert.Equal(SendOutcome.Sent, result.Outcome);
        Assert.Empty(receiver.Problems);
        var call = Assert.Single(receiver.Calls);
        Assert.Equal(("DELETE", "", "journeyworker"), (call.Method, call.Body, call.Headers["X-Source"]));
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), call.SignedAt);
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("172.20.0.1")]
    [InlineData("192.168.1.1")]
    [InlineData("127.0.0.53")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("2002:a00:1::1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    public void Internal_addresses_are_not_public(string address) => Assert.False(WebhookHosts.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700::6810:84e5")]
    [InlineData("::ffff:8.8.8.8")]
    public void Internet_addresses_are_public(string address) => Assert.True(WebhookHosts.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("Webhooks:AllowedHosts:0", "hooks.example.com", "SigningKey must be set")]
    [InlineData("Webhooks:AllowedHosts:0", "https://hooks.example.com/x", "is not a host name")]
    [InlineData("Webhooks:Timeout", "00:05:00", "Timeout")]
    public void Bad_configuration_fails_at_start(string key, string value, string message)
    {
        using var app = Host((key, value));
        var error = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<WebhookOptions>>().Value);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
