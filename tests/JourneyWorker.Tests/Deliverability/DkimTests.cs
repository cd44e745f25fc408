using System.Text;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Tests.Channels;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Tracking;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>
/// DKIM signatures made by JourneyWorker, checked by an independent verifier (dkimpy) against the TXT record that
/// `dkim-keygen` printed, on the bytes the SMTP server received.
/// </summary>
public sealed class DkimTests : IAsyncLifetime
{
    private string _folder = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _folder = Directory.CreateTempSubdirectory("journeyworker-dkim-tests-").FullName;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static Action<JourneyWorkerApp> Signed(DkimKey key) => app => app
        .With("Email:From", "Shop <news@shop.example>")
        .With("Email:Dkim:Domain", key.Domain)
        .With("Email:Dkim:Selector", key.Selector)
        .With("Email:Dkim:PrivateKeyFile", key.File);

    [Fact]
    public async Task A_journey_email_is_signed_over_its_final_headers_and_verifies_independently()
    {
        MailTools.RequireDkimVerifier();
        var key = await DkimKey.CreateAsync(_folder);
        await using var h = await EngineHarness.StartAsync(Ct, configure: Signed(key));
        await TrackingScenario.StartAsync(h, TrackingScenario.Person("zoe@example.com", "Zoë"), "m", """
            { "id": "m", "type": "email", "subject": "Grüße, {{profile.person.name.firstName}} – 20 % off",
              "html": "<p>Hallo {{profile.person.name.firstName}}, crème brûlée for 5 €: <a href=\"https://shop.example/new\">have a look</a></p>" }
            """, Ct);

        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        var tags = DkimKey.SignatureTags(mail.Message);
        Assert.Equal(("rsa-sha256", "relaxed/relaxed", "shop.example", "jw2026"), (tags["a"], tags["c"], tags["d"], tags["s"]));
        var signed = tags["h"].ToLowerInvariant().Split(':').ToHashSet();
        Assert.Empty(new HashSet<string> { "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
            "list-id", "list-unsubscribe", "list-unsubscribe-post", "feedback-id" }.Except(signed));
        var (valid, log) = MailTools.VerifyDkim(mail.Raw, key.RecordName, key.RecordValue);
        Assert.True(valid, log);

        // The verifier really checks: a changed subject or body fails, and so does another domain's key.
        var raw = Encoding.ASCII.GetString(mail.Raw);
        var subject = mail.Message.Headers.First(x => x.Id == HeaderId.Subject);
        Assert.False(MailTools.VerifyDkim(Encoding.ASCII.GetBytes(raw.Replace("Subject:" + Encoding.ASCII.GetString(subject.RawValue), "Subject: Free money\r\n", StringComparison.Ordinal)), key.RecordName, key.RecordValue).Valid);
        Assert.False(MailTools.VerifyDkim(Encoding.ASCII.GetBytes(raw.Replace("Hallo", "Hello", StringComparison.Ordinal)), key.RecordName, key.RecordValue).Valid);
        var other = await DkimKey.CreateAsync(Path.Combine(_folder, "other"));
        Assert.False(MailTools.VerifyDkim(mail.Raw, key.RecordName, other.RecordValue).Valid);
    }

    public static TheoryData<string> Shapes => ["plain", "html", "multipart", "non-ascii", "dots-and-spaces"];

    private static EmailMessage Shape(string shape) => shape switch
    {
        // A short text-only body: the text part given, the HTML a single paragraph.
        "plain" => new("a1.1.plain@shop.example", "ann@example.test", "Your order", "<p>Thanks.</p>", "Thanks.", new Dictionary<string, string>()),
        "html" => new("a1.1.html@shop.example", "Ann <ann@example.test>", "News", "<html><body><h1>News</h1><p>Long line " + new string('x', 1200) + "</p></body></html>", null,
            new Dictionary<string, string>()),
        "multipart" => EmailSenderTests.Mail("a1.1.multi@shop.example", text: "Plain alternative\n\nwith two paragraphs"),
        "non-ascii" => new("a1.1.intl@shop.example", "Zoë Ångström <zoe@example.test>", "Grüße aus Köln – 20 % Rabatt 🎉",
            "<p>Crème brûlée für 5 €, 日本語のテキスト</p>", "Crème brûlée für 5 €", new Dictionary<string, string> { ["List-Unsubscribe"] = "<https://shop.example/u/1>" }),
        _ => new("a1.1.dots@shop.example", "ann@example.test", "Dots", "<pre>\n.\n..leading dots\nFrom the start   \ntrailing  \t\n\n\n</pre>",
            ".\n.. two\nFrom here   \n\n\n", new Dictionary<string, string>()),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Every_shape_of_message_verifies_after_SMTP(string shape)
    {
        MailTools.RequireDkimVerifier();
        var key = await DkimKey.CreateAsync(_folder);
        await using var sink = await SmtpSink.StartAsync(cancellationToken: Ct);
        var options = new EmailOptions { From = "Shop <news@shop.example>", Dkim = { Domain = key.Domain, Selector = key.Selector, PrivateKeyFile = key.File } };
        options.Smtp.Host = sink.Host;
        options.Smtp.Port = sink.Port;
        var signing = new EmailSigning(Options.Create(options), new Environment(_folder), TimeProvider.System);
        await using var sender = new SmtpEmailSender(Options.Create(options), TimeProvider.System, NullLogger<SmtpEmailSender>.Instance, signing);

        Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Shape(shape), Ct)).Outcome);

        var mail = Assert.Single(await sink.WaitForMessagesAsync(1, cancellationToken: Ct));
        var (valid, log) = MailTools.VerifyDkim(mail.Raw, key.RecordName, key.RecordValue);
        Assert.True(valid, $"{shape}: {log}\n{Encoding.UTF8.GetString(mail.Raw)}");
    }

    [Fact]
    public async Task A_pickup_file_is_signed_as_it_would_be_sent()
    {
        MailTools.RequireDkimVerifier();
        var key = await DkimKey.CreateAsync(_folder);
        var options = new EmailOptions
        {
            From = "Shop <news@shop.example>", PickupDirectory = Path.Combine(_folder, "pickup"),
            Dkim = { Domain = key.Domain, Selector = key.Selector, PrivateKeyFile = key.File },
        };
        var environment = new Environment(_folder);
        var sender = new PickupEmailSender(Options.Create(options), environment, TimeProvider.System, NullLogger<PickupEmailSender>.Instance,
            new EmailSigning(Options.Create(options), environment, TimeProvider.System));

        Assert.Equal(SendOutcome.Sent, (await sender.SendAsync(Shape("non-ascii") with { ReturnPath = "bounces@shop.example" }, Ct)).Outcome);

        var raw = await File.ReadAllBytesAsync(Assert.Single(Directory.GetFiles(options.PickupDirectory)), Ct);
        Assert.StartsWith("Return-Path: <bounces@shop.example>\r\n", Encoding.ASCII.GetString(raw), StringComparison.Ordinal);
        var (valid, log) = MailTools.VerifyDkim(raw, key.RecordName, key.RecordValue);
        Assert.True(valid, log);
    }

    [Fact]
    public async Task A_key_that_cannot_be_read_stops_start_up_naming_the_setting()
    {
        var key = await DkimKey.CreateAsync(_folder);
        var missing = Path.Combine(_folder, "no-such.pem");
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With("Email:Dkim:Domain", "shop.example").With("Email:Dkim:Selector", "jw").With("Email:Dkim:PrivateKeyFile", missing));
        Assert.Contains("Email:Dkim:PrivateKeyFile", error, StringComparison.Ordinal);
        Assert.Contains("no-such.pem", error, StringComparison.Ordinal);

        var garbage = Path.Combine(_folder, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n", Ct);
        var publicOnly = Path.Combine(_folder, "public.pem");
        using (var rsa = System.Security.Cryptography.RSA.Create(2048))
        {
            await File.WriteAllTextAsync(publicOnly, rsa.ExportSubjectPublicKeyInfoPem(), Ct);
        }
        foreach (var (file, expected) in new[] { (garbage, "holds no unencrypted RSA private key"), (publicOnly, "holds a public key") })
        {
            error = StartupFailure.Of(() => new JourneyWorkerApp().With("Email:Dkim:Domain", "shop.example").With("Email:Dkim:Selector", "jw").With("Email:Dkim:PrivateKeyFile", file));
            Assert.Contains("Email:Dkim:PrivateKeyFile", error, StringComparison.Ordinal);
            Assert.Contains(expected, error, StringComparison.Ordinal);
        }

        error = StartupFailure.Of(() => new JourneyWorkerApp().With("Email:Dkim:Domain", "shop.example").With("Email:Dkim:PrivateKeyFile", key.File));
        Assert.Contains("missing Email:Dkim:Selector", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keygen_writes_a_private_key_only_its_owner_reads_prints_the_record_and_keeps_an_existing_file()
    {
        var key = await DkimKey.CreateAsync(_folder, "s1", "mail.shop.example");
        Assert.Equal("s1._domainkey.mail.shop.example", key.RecordName);
        Assert.Matches("^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$", key.RecordValue);
        Assert.Contains("s1._domainkey.mail.shop.example. 3600 IN TXT ( \"v=DKIM1; k=rsa; p=", key.Output, StringComparison.Ordinal);
        Assert.All(System.Text.RegularExpressions.Regex.Matches(key.Output, "\"([^\"]*)\"").Select(m => m.Groups[1].Value), chunk => Assert.True(chunk.Length <= 255));
        Assert.StartsWith("-----BEGIN RSA PRIVATE KEY-----", await File.ReadAllTextAsync(key.File, Ct), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key.File));
        }
        // The printed record holds the public half of the written key.
        using var rsa = System.Security.Cryptography.RSA.Create();
        rsa.ImportFromPem(await File.ReadAllTextAsync(key.File, Ct));
        Assert.Equal(Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()), key.RecordValue.Split("p=")[1]);

        var before = await File.ReadAllTextAsync(key.File, Ct);
        var output = new StringWriter();
        Assert.Equal(1, await JourneyWorker.Deliverability.DkimKeygenCommand.RunAsync(["dkim-keygen", "--selector", "s1", "--domain", "shop.example", "--out", key.File], output));
        Assert.Contains("exists", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(key.File, Ct));

        output = new StringWriter();
        Assert.Equal(2, await JourneyWorker.Deliverability.DkimKeygenCommand.RunAsync(["dkim-keygen", "--domain", "shop example", "--out", Path.Combine(_folder, "x.pem")], output));
        Assert.Contains("--selector is required", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("--domain is required", output.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder, "x.pem")));
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "JourneyWorker";
        public string ContentRootPath { get; set; } = root;
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }
}
