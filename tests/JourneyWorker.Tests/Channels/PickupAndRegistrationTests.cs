using System.Text.Json.Nodes;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Channels.Push;
using JourneyWorker.Channels.Templates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Tests.Channels;

public sealed class PickupAndRegistrationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("journeyworker-channels-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private IHost Host(params (string Key, string? Value)[] settings)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _root, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddChannels();
        return builder.Build();
    }

    [Fact]
    public async Task Embedded_defaults_write_eml_and_json_files_under_the_content_root()
    {
        using var host = Host();
        var email = host.Services.GetRequiredService<IEmailSender>();
        var push = host.Services.GetRequiredService<IPushSender>();
        Assert.IsType<PickupEmailSender>(email);
        Assert.IsType<PickupPushSender>(push);
        Assert.NotNull(host.Services.GetRequiredService<TemplateRenderer>());

        Assert.Equal(SendOutcome.Sent, (await email.SendAsync(EmailSenderTests.Mail("j7.first/../../evil@journeyworker"), Ct)).Outcome);
        var file = Assert.Single(Directory.GetFiles(Path.Combine(_root, "data", "outbox", "email")));
        Assert.Equal("j7.first_.._.._evil@journeyworker.eml", Path.GetFileName(file));
        var message = await MimeMessage.LoadAsync(file, Ct);
        Assert.Equal("j7.first/../../evil@journeyworker", message.MessageId);
        Assert.Equal("Hello Ada", message.Subject);
        Assert.Equal("<https://journeys.test/t/u/abc>", message.Headers["List-Unsubscribe"]);
        Assert.NotNull(message.HtmlBody);
        Assert.NotNull(message.TextBody);

        var pushMessage = new PushMessage("j7.thanks@journeyworker", "device-token-1", "android", "Thank you", "Enjoy your tea",
            new Dictionary<string, string> { ["trackingToken"] = "tok", ["openUrl"] = "https://journeys.test/t/p/tok" });
        Assert.Equal(SendOutcome.Sent, (await push.SendAsync(pushMessage, Ct)).Outcome);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_root, "data", "outbox", "push", "j7.thanks@journeyworker.json"), Ct))!;
        Assert.Equal("device-token-1", (string?)json["message"]!["token"]);
        Assert.Equal("Thank you", (string?)json["message"]!["notification"]!["title"]);
        Assert.Equal("Enjoy your tea", (string?)json["message"]!["notification"]!["body"]);
        Assert.Equal("https://journeys.test/t/p/tok", (string?)json["message"]!["data"]!["openUrl"]);
    }

    [Fact]
    public async Task Pickup_refuses_injection_like_smtp_does()
    {
        using var host = Host(("Email:PickupDirectory", Path.Combine(_root, "mail")));
        var email = host.Services.GetRequiredService<IEmailSender>();
        var result = await email.SendAsync(EmailSenderTests.Mail(subject: "Hi\nBcc: x@example.test"), Ct);
        Assert.Equal(SendOutcome.Failed, result.Outcome);
        Assert.False(Directory.Exists(Path.Combine(_root, "mail")));
    }

    [Fact]
    public void Configured_hosts_select_smtp_and_fcm()
    {
        using var host = Host(("Email:Smtp:Host", "127.0.0.1"), ("Push:Fcm:ProjectId", "p1"), ("Push:Fcm:CredentialsFile", "sa.json"));
        Assert.IsType<SmtpEmailSender>(host.Services.GetRequiredService<IEmailSender>());
        Assert.IsType<FcmPushSender>(host.Services.GetRequiredService<IPushSender>());
    }

    [Theory]
    [InlineData("Email:From", "not an address")]
    [InlineData("Email:Smtp:PoolSize", "0")]
    [InlineData("Push:Fcm:ProjectId", "p1")]
    public void Bad_configuration_fails_validation(string key, string value)
    {
        using var host = Host((key, value));
        Assert.Throws<OptionsValidationException>(() =>
        {
            _ = host.Services.GetRequiredService<IOptions<EmailOptions>>().Value;
            _ = host.Services.GetRequiredService<IOptions<PushOptions>>().Value;
        });
    }

    [Fact]
    public void Backoff_doubles_caps_and_honours_retry_after()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), RetryPolicy.Backoff(1, null));
        Assert.Equal(TimeSpan.FromSeconds(60), RetryPolicy.Backoff(2, null));
        Assert.Equal(TimeSpan.FromSeconds(240), RetryPolicy.Backoff(4, null));
        Assert.Equal(TimeSpan.FromHours(1), RetryPolicy.Backoff(12, null));
        Assert.Equal(TimeSpan.FromHours(1), RetryPolicy.Backoff(int.MaxValue, null));
        Assert.Equal(TimeSpan.FromMinutes(10), RetryPolicy.Backoff(1, TimeSpan.FromMinutes(10)));
        Assert.Equal(TimeSpan.FromSeconds(60), RetryPolicy.Backoff(2, TimeSpan.FromSeconds(5)));
        Assert.Equal(RetryPolicy.MaxRetryAfter, RetryPolicy.Backoff(1, TimeSpan.FromDays(30)));
        Assert.True(RetryPolicy.MaxAttempts > 1);
    }
}
