using System.Net;
using System.Text;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Reliability;

public sealed class SecretTests
{
    private const string SmtpPassword = "smtp-secret-pw-4711";
    private const string WrongKey = "wrong-key-that-must-not-be-logged-0815";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string People = """
        {"identities": {"email": "ann@example.com"}, "attributes": {"person": {"name": {"firstName": "Ann"}}, "homeAddress": {"city": "Seattle"}}}
        {"identities": {"email": "mal@example.com"}, "attributes": {"person": {"name": {"firstName": "Mal\r\nBcc: evil@example.com"}}, "homeAddress": {"city": "Seattle"}}}
        """;

    [Fact]
    public async Task Api_keys_and_the_smtp_password_never_reach_the_logs()
    {
        await using var smtp = await SmtpSink.StartAsync("journeys", SmtpPassword, Ct);
        await using var app = Configure(new ReliabilityApp(), smtp);

        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithKey(WrongKey).GetAsync("/api/audiences", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithKey(WrongKey).PostAsync("/api/events", new StringContent("{}", Encoding.UTF8, "application/json"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithKey(JourneyWorkerApp.IngestKey).GetAsync("/api/journeys", Ct)).StatusCode);
        await app.ImportAsync(People, Ct);
        await app.RunAudienceAsync(await app.PublishEmailJourneyAsync(Ct), Ct);
        await smtp.WaitForMessagesAsync(1, cancellationToken: Ct);

        var lines = app.Logs.Lines.ToList();
        Assert.NotEmpty(lines);
        foreach (var secret in new[] { SmtpPassword, WrongKey, JourneyWorkerApp.AdminKey, JourneyWorkerApp.IngestKey })
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_cr_lf_in_a_rendered_subject_never_becomes_a_header()
    {
        await using var smtp = await SmtpSink.StartAsync(cancellationToken: Ct);
        await using var app = Configure(new ReliabilityApp(), smtp, authenticate: false);
        await app.ImportAsync(People, Ct);
        await app.RunAudienceAsync(await app.PublishEmailJourneyAsync(Ct), Ct);
        await smtp.WaitForMessagesAsync(1, cancellationToken: Ct);

        var mail = Assert.Single(smtp.Messages);
        Assert.Equal(["ann@example.com"], mail.To);
        Assert.DoesNotContain(smtp.Messages, m => m.To.Contains("evil@example.com") || m.Message.Headers.Contains("Bcc"));
        await using var db = app.Db();
        var mal = db.ProfileIdentities.Single(i => i.Value == "mal@example.com").ProfileId;
        var instance = db.JourneyInstances.Single(i => i.ProfileId == mal);
        Assert.Contains(db.InstanceSteps.Where(s => s.InstanceId == instance.Id && s.NodeId == "mail").Select(s => s.Outcome), o => o != "succeeded");
    }

    private static ReliabilityApp Configure(ReliabilityApp app, SmtpSink smtp, bool authenticate = true)
    {
        app.With("Runtime:Enabled", "false")
            .With("Logging:LogLevel:Default", "Trace")
            .With("Email:Smtp:Host", smtp.Host)
            .With("Email:Smtp:Port", smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (authenticate)
        {
            app.With("Email:Smtp:Username", "journeys").With("Email:Smtp:Password", SmtpPassword);
        }
        return app;
    }
}
