using System.Security.Cryptography;
using System.Text.Json.Nodes;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Push;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace JourneyWorker.Tests.Channels;

public sealed class FcmPushSenderTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
    private FcmEndpoint _fcm = null!;
    private IHost? _host;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _fcm = await FcmEndpoint.StartAsync(cancellationToken: Ct);

    public async ValueTask DisposeAsync()
    {
        _host?.Dispose();
        await _fcm.DisposeAsync();
    }

    private IPushSender Sender(string? credentialsFile = null, string? baseUrl = null)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = Path.GetTempPath(), EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Push:Fcm:ProjectId"] = _fcm.ProjectId,
            ["Push:Fcm:CredentialsFile"] = credentialsFile ?? _fcm.CredentialsFile,
            ["Push:Fcm:BaseUrl"] = baseUrl ?? _fcm.BaseUrl,
            ["Push:Fcm:Timeout"] = "00:00:05",
        });
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.Services.AddChannels();
        _host = builder.Build();
        var sender = _host.Services.GetRequiredService<IPushSender>();
        Assert.IsType<FcmPushSender>(sender);
        return sender;
    }

    private static PushMessage Push(string id = "j3.thanks@journeyworker", string token = "device-1") =>
        new(id, token, "android", "Thank you", "Enjoy your tea",
            new Dictionary<string, string> { ["trackingToken"] = "tok-1", ["openUrl"] = "https://journeys.test/t/p/tok-1" });

    [Fact]
    public async Task Sends_fcm_v1_messages_with_a_token_from_the_service_account_fetched_once()
    {
        var sender = Sender();
        for (var i = 0; i < 3; i++)
        {
            var result = await sender.SendAsync(Push($"m{i}@journeyworker", $"device-{i}"), Ct);
            Assert.True(result.Outcome == SendOutcome.Sent, $"{result.Outcome}: {result.Error}; endpoint saw: {string.Join("; ", _fcm.Problems)}");
        }

        Assert.Empty(_fcm.Problems);
        Assert.Equal(1, _fcm.TokenRequests);
        Assert.Equal(["device-0", "device-1", "device-2"], _fcm.Messages.Select(m => m.Token));
        Assert.Single(_fcm.Messages.Select(m => m.AccessToken).Distinct());
        var message = _fcm.Messages[0].Message;
        Assert.Equal("Thank you", (string?)message["notification"]!["title"]);
        Assert.Equal("Enjoy your tea", (string?)message["notification"]!["body"]);
        Assert.Equal("tok-1", (string?)message["data"]!["trackingToken"]);
        Assert.Equal("https://journeys.test/t/p/tok-1", (string?)message["data"]!["openUrl"]);
    }

    [Fact]
    public async Task Unregistered_token_is_dead()
    {
        var sender = Sender();
        _fcm.ReplyNext(FcmReply.Unregistered());
        var result = await sender.SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.TokenDead, result.Outcome);
        Assert.Contains("UNREGISTERED", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Throttling_is_retry_later_honouring_retry_after_seconds()
    {
        var sender = Sender();
        _fcm.ReplyNext(FcmReply.TooManyRequests("120"));
        var result = await sender.SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(120), result.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(120), RetryPolicy.Backoff(1, result.RetryAfter));
    }

    [Fact]
    public async Task Server_errors_are_retry_later_honouring_an_http_date()
    {
        var sender = Sender();
        _fcm.ReplyNext(FcmReply.ServerError(_time.GetUtcNow().AddMinutes(5).ToString("R")));
        _fcm.ReplyNext(FcmReply.ServerError());

        var dated = await sender.SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.RetryLater, dated.Outcome);
        Assert.Equal(TimeSpan.FromMinutes(5), dated.RetryAfter);

        var plain = await sender.SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.RetryLater, plain.Outcome);
        Assert.Null(plain.RetryAfter);

        Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Push(), Ct)).Outcome);
    }

    [Fact]
    public async Task Other_client_errors_fail()
    {
        var sender = Sender();
        _fcm.ReplyNext(FcmReply.InvalidArgument());
        var result = await sender.SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.Failed, result.Outcome);
        Assert.Contains("400", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_the_token_endpoint_does_not_know_gets_no_token_and_sends_nothing()
    {
        // Same account and token_uri, different private key: the endpoint's RS256 check must refuse it.
        using var other = RSA.Create(2048);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(_fcm.CredentialsFile, Ct))!;
        json["private_key"] = other.ExportPkcs8PrivateKeyPem();
        var forged = Path.Combine(Path.GetDirectoryName(_fcm.CredentialsFile)!, "forged.json");
        await File.WriteAllTextAsync(forged, json.ToJsonString(), Ct);

        var result = await Sender(forged).SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Contains("authorization", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(_fcm.Problems, p => p.Contains("signature", StringComparison.Ordinal));
        Assert.Equal(0, _fcm.TokenRequests);
        Assert.Empty(_fcm.Messages);
    }

    [Fact]
    public async Task Unreachable_fcm_is_retry_later()
    {
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var result = await Sender(baseUrl: $"http://127.0.0.1:{port}").SendAsync(Push(), Ct);
        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Equal(1, _fcm.TokenRequests);
    }
}
