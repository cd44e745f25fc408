using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Tests.Channels;

/// <summary>
/// StartTls and SslOnConnect against the SMTP sink with a self-signed certificate made here: refused as untrusted unless
/// Email:Smtp:TrustedCertificateFile pins exactly that certificate; never sent in plain text instead.
/// </summary>
public sealed class SmtpTlsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("journeyworker-tls-").FullName;
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _certificate = TestCertificates.SelfSigned();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _certificate.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static SmtpEmailSender Sender(SmtpSink sink, SmtpSecurity security, string? trustedFile)
    {
        var options = new EmailOptions { From = "journeys@example.test" };
        options.Smtp.Host = sink.Host; // 127.0.0.1, one of the certificate's names
        options.Smtp.Port = sink.Port;
        options.Smtp.Security = security;
        options.Smtp.TrustedCertificateFile = trustedFile;
        options.Smtp.Timeout = TimeSpan.FromSeconds(5);
        return new SmtpEmailSender(Options.Create(options), TimeProvider.System, NullLogger<SmtpEmailSender>.Instance);
    }

    [Theory]
    [InlineData(SmtpSecurity.StartTls, true)]
    [InlineData(SmtpSecurity.SslOnConnect, false)]
    public async Task With_the_certificate_pinned_the_message_goes_over_tls(SmtpSecurity security, bool pem)
    {
        await using var sink = await SmtpSink.StartTlsAsync(_certificate, implicitTls: security == SmtpSecurity.SslOnConnect, Ct);
        await using var sender = Sender(sink, security, TestCertificates.WritePublic(_certificate, _folder, pem));

        for (var i = 0; i < 2; i++)
        {
            var result = await sender.SendAsync(EmailSenderTests.Mail($"tls{i}@journeyworker"), Ct);
            Assert.True(result.Outcome == SendOutcome.Sent, result.Error);
        }

        var mails = await sink.WaitForMessagesAsync(2, cancellationToken: Ct);
        Assert.All(mails, m => Assert.True(m.Secure, "the sink received the message outside TLS"));
        Assert.Equal(["tls0@journeyworker", "tls1@journeyworker"], mails.Select(m => m.Message.MessageId).Order());
        Assert.Equal(1, sink.SessionCount); // the TLS connection is pooled like a plain one
    }

    [Theory]
    [InlineData(SmtpSecurity.StartTls)]
    [InlineData(SmtpSecurity.SslOnConnect)]
    public async Task An_untrusted_certificate_is_refused_and_the_message_waits(SmtpSecurity security)
    {
        await using var sink = await SmtpSink.StartTlsAsync(_certificate, implicitTls: security == SmtpSecurity.SslOnConnect, Ct);
        await using var sender = Sender(sink, security, trustedFile: null);

        var result = await sender.SendAsync(EmailSenderTests.Mail(), Ct);

        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Contains("certificate", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(sink.Messages);
    }

    [Theory]
    [InlineData(SmtpSecurity.StartTls)]
    [InlineData(SmtpSecurity.SslOnConnect)]
    public async Task The_pin_is_exact_another_certificate_for_the_same_names_is_refused(SmtpSecurity security)
    {
        using var other = TestCertificates.SelfSigned();
        await using var sink = await SmtpSink.StartTlsAsync(_certificate, implicitTls: security == SmtpSecurity.SslOnConnect, Ct);
        await using var sender = Sender(sink, security, TestCertificates.WritePublic(other, _folder, pem: true));

        var result = await sender.SendAsync(EmailSenderTests.Mail(), Ct);

        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public async Task StartTls_to_a_server_that_does_not_offer_it_never_falls_back_to_plain_text()
    {
        await using var plain = await SmtpSink.StartAsync(cancellationToken: Ct);
        await using var sender = Sender(plain, SmtpSecurity.StartTls, TestCertificates.WritePublic(_certificate, _folder, pem: true));

        var result = await sender.SendAsync(EmailSenderTests.Mail(), Ct);

        Assert.Equal(SendOutcome.RetryLater, result.Outcome);
        Assert.Contains("STARTTLS", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(plain.Messages);
    }
}

/// <summary>A pin that could never work stops the service at start, naming the setting.</summary>
public sealed class TrustedCertificateStartupTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("journeyworker-tls-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("missing", "StartTls", "does not exist")]
    [InlineData("garbage", "StartTls", "is not a readable X.509 certificate")]
    [InlineData("valid", "None", "Email:Smtp:Security is None")]
    public void A_bad_trusted_certificate_file_stops_the_start(string file, string security, string reason)
    {
        var path = Path.Combine(_folder, "relay.pem");
        if (file == "garbage")
        {
            File.WriteAllText(path, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        }
        else if (file == "valid")
        {
            using var certificate = TestCertificates.SelfSigned();
            path = TestCertificates.WritePublic(certificate, _folder, pem: true);
        }

        var error = StartupFailure.Of(() => new JourneyWorkerApp()
            .With("Email:Smtp:Host", "127.0.0.1")
            .With("Email:Smtp:Security", security)
            .With("Email:Smtp:TrustedCertificateFile", path));

        Assert.Contains("Email:Smtp:TrustedCertificateFile", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_path_resolves_against_the_content_root_and_a_good_pin_starts()
    {
        using var certificate = TestCertificates.SelfSigned();
        var path = TestCertificates.WritePublic(certificate, _folder, pem: false);
        using var app = new JourneyWorkerApp()
            .With("Email:Smtp:Host", "127.0.0.1")
            .With("Email:Smtp:Security", "SslOnConnect")
            .With("Email:Smtp:TrustedCertificateFile", Path.GetFileName(path));
        using var rooted = app.WithWebHostBuilder(b => b.UseContentRoot(_folder));
        rooted.CreateClient().Dispose();

        var options = rooted.Services.GetRequiredService<IOptions<EmailOptions>>().Value;
        Assert.Equal(path, options.Smtp.TrustedCertificateFile);
    }
}
