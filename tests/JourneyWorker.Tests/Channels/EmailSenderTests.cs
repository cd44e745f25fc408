using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Tests.Channels;

public sealed class EmailSenderTests : IAsyncLifetime
{
    private SmtpSink _sink = null!;

    public async ValueTask InitializeAsync() => _sink = await SmtpSink.StartAsync(cancellationToken: TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await _sink.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SmtpEmailSender Sender(Action<SmtpOptions>? configure = null, int? port = null)
    {
        var options = new EmailOptions { From = "Journeys <journeys@example.test>", ReplyTo = "help@example.test" };
        options.Smtp.Host = _sink.Host;
        options.Smtp.Port = port ?? _sink.Port;
        options.Smtp.Timeout = TimeSpan.FromSeconds(5);
        configure?.Invoke(options.Smtp);
        return new SmtpEmailSender(Options.Create(options), TimeProvider.System, NullLogger<SmtpEmailSender>.Instance);
    }

    internal static EmailMessage Mail(string id = "j12.first@journeyworker", string subject = "Hello Ada", string? text = null,
        IReadOnlyDictionary<string, string>? headers = null) =>
        new(id, "Ada Lovelace <ada@example.test>", subject,
            "<p>Hello <b>Ada</b> &amp; friends</p><p><a href=\"https://shop.test/x?a=1&amp;b=2\">Shop now</a></p><img src=\"https://t.test/o/1\">",
            text,
            headers ?? new Dictionary<string, string>
            {
                ["List-Unsubscribe"] = "<https://journeys.test/t/u/abc>",
                ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
            });

    [Fact]
    public async Task Delivers_with_stable_message_id_html_text_alternative_and_unsubscribe_headers()
    {
        await using var sender = Sender();
        var result = await sender.SendAsync(Mail(), Ct);

        Assert.Equal(SendOutcome.Sent, result.Outcome);
        var mail = Assert.Single(await _sink.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("journeys@example.test", mail.From);
        Assert.Equal(["ada@example.test"], mail.To);
        var message = mail.Message;
        Assert.Equal("j12.first@journeyworker", message.MessageId);
        Assert.Equal("Hello Ada", message.Subject);
        Assert.Equal("help@example.test", Assert.Single(message.ReplyTo.Mailboxes).Address);
        Assert.Equal("<https://journeys.test/t/u/abc>", message.Headers["List-Unsubscribe"]);
        Assert.Equal("List-Unsubscribe=One-Click", message.Headers["List-Unsubscribe-Post"]);
        var alternative = Assert.IsType<MultipartAlternative>(message.Body);
        Assert.Contains("<b>Ada</b>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Equal("Hello Ada & friends\nShop now (https://shop.test/x?a=1&b=2)", message.TextBody!.Trim().ReplaceLineEndings("\n"));
        Assert.Equal(2, alternative.Count);
    }

    [Fact]
    public async Task A_given_text_part_is_used_as_is()
    {
        await using var sender = Sender();
        Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Mail(text: "Plain words"), Ct)).Outcome);
        var mail = Assert.Single(await _sink.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("Plain words", mail.Message.TextBody!.Trim());
    }

    [Fact]
    public async Task Reuses_persistent_connections_and_recycles_after_the_quota()
    {
        await using (var sender = Sender())
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Mail($"m{i}@journeyworker"), Ct)).Outcome);
            }
            await _sink.WaitForMessagesAsync(10, cancellationToken: Ct);
            Assert.Equal(1, _sink.SessionCount);

            var parallel = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => sender.SendAsync(Mail($"p{i}@journeyworker"), Ct)));
            Assert.All(parallel, r => Assert.Equal(SendOutcome.Sent, r.Outcome));
            Assert.InRange(_sink.SessionCount, 1, 4); // PoolSize defaults to 4
        }

        var before = _sink.SessionCount;
        await using (var recycling = Sender(s => s.MaxMessagesPerConnection = 2))
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(SendOutcome.Sent, (await recycling.SendAsync(Mail($"r{i}@journeyworker"), Ct)).Outcome);
            }
        }
        Assert.Equal(3, _sink.SessionCount - before);
        Assert.Equal(35, (await _sink.WaitForMessagesAsync(35, cancellationToken: Ct)).Count);
    }

    [Fact]
    public async Task Temporary_rejection_is_retry_later_and_the_connection_stays_usable()
    {
        await using var sender = Sender();
        _sink.ReplyNext(451, "Try again later");

        var result = await sender.SendAsync(Mail("a@journeyworker"), Ct);
        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Contains("451", result.Error, StringComparison.Ordinal);

        Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Mail("b@journeyworker"), Ct)).Outcome);
        Assert.Equal("b@journeyworker", Assert.Single(await _sink.WaitForMessagesAsync(1, cancellationToken: Ct)).Message.MessageId);
        Assert.Equal(1, _sink.SessionCount);
    }

    [Fact]
    public async Task Permanent_rejection_is_failed()
    {
        await using var sender = Sender();
        _sink.ReplyNext(550, "Mailbox unavailable");

        var result = await sender.SendAsync(Mail(), Ct);
        Assert.Equal(SendOutcome.Failed, result.Outcome);
        Assert.Contains("550", result.Error, StringComparison.Ordinal);
        Assert.Equal(1, _sink.RejectedCount);
        Assert.Empty(_sink.Messages);
    }

    [Theory]
    [InlineData("Hello\r\nBcc: victim@example.test", null, null)]
    [InlineData("Hello", "X-Campaign", "a\nBcc: victim@example.test")]
    [InlineData("Hello", "Bcc", "victim@example.test")]
    [InlineData("Hello", "Bad Name", "x")]
    public async Task Header_injection_is_refused_without_touching_the_server(string subject, string? header, string? value)
    {
        await using var sender = Sender();
        var headers = header is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [header] = value! };

        var result = await sender.SendAsync(Mail(subject: subject, headers: headers), Ct);
        Assert.Equal(SendOutcome.Failed, result.Outcome);
        Assert.NotNull(result.Error);
        Assert.Equal(0, _sink.SessionCount);
    }

    [Fact]
    public async Task A_recipient_with_a_line_break_is_refused()
    {
        await using var sender = Sender();
        var result = await sender.SendAsync(Mail() with { To = "ada@example.test\r\nRCPT TO:<x@example.test>" }, Ct);
        Assert.Equal(SendOutcome.Failed, result.Outcome);
        Assert.Equal(0, _sink.SessionCount);
    }

    [Fact]
    public async Task Unreachable_server_is_retry_later()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        await using var sender = Sender(port: port);
        var result = await sender.SendAsync(Mail(), Ct);
        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Contains("connection", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Authenticates_when_a_username_is_configured()
    {
        await using var secured = await SmtpSink.StartAsync("mailer", "s3cret", Ct);
        var options = new EmailOptions { From = "journeys@example.test" };
        options.Smtp.Host = secured.Host;
        options.Smtp.Port = secured.Port;
        options.Smtp.Username = "mailer";

        options.Smtp.Password = "wrong";
        await using (var bad = new SmtpEmailSender(Options.Create(options), TimeProvider.System, NullLogger<SmtpEmailSender>.Instance))
        {
            Assert.Equal(SendOutcome.RetryLater, (await bad.SendAsync(Mail(), Ct)).Outcome);
        }

        options.Smtp.Password = "s3cret";
        await using var good = new SmtpEmailSender(Options.Create(options), TimeProvider.System, NullLogger<SmtpEmailSender>.Instance);
        Assert.Equal(SendOutcome.Sent, (await good.SendAsync(Mail(), Ct)).Outcome);
        Assert.Single(await secured.WaitForMessagesAsync(1, cancellationToken: Ct));
    }

    [Fact]
    public void Sender_sockets_have_nagle_off()
    {
        using var socket = SmtpEmailSender.CreateSocket();
        Assert.True(socket.NoDelay);
    }

    [Fact]
    public async Task Persistent_connection_is_not_stalled_by_nagle()
    {
        // Measured here: with Nagle on in the sink every message waits for a ~40 ms delayed ACK (50 messages ≈ 2.4 s
        // instead of ≈ 0.1 s). The client-side flag does not show in this timing, hence the socket test above.
        await using var sender = Sender();
        Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Mail("warmup@journeyworker"), Ct)).Outcome);

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Mail($"n{i}@journeyworker"), Ct)).Outcome);
        }
        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.2), $"50 messages took {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(1, _sink.SessionCount);
    }

    [Fact]
    public void Text_alternative_from_html_drops_scripts_and_styles()
    {
        var text = EmailMessageBuilder.HtmlToText("<html><head><style>p{}</style></head><body><script>x()</script><h1>Hi&nbsp;there</h1>Line<br>two &lt;3</body></html>");
        Assert.Equal("Hi there\nLine\ntwo <3", text);
    }
}
