using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using JourneyWorker.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// The real host wired to a real SMTP server and an FCM-speaking endpoint on loopback, with the
/// background poller off so that a test decides when due work runs (on the fake clock).
/// </summary>
public sealed partial class EngineHarness : IAsyncDisposable
{
    private EngineHarness(JourneyWorkerApp app, SmtpSink smtp, FcmEndpoint fcm)
    {
        App = app;
        Smtp = smtp;
        Fcm = fcm;
        Client = app.Admin();
    }

    public JourneyWorkerApp App { get; }
    public SmtpSink Smtp { get; }
    public FcmEndpoint Fcm { get; }
    public HttpClient Client { get; }

    /// <param name="configure">More settings before the host starts (another database, for instance).</param>
    public static async Task<EngineHarness> StartAsync(CancellationToken cancellationToken, bool background = false, Action<JourneyWorkerApp>? configure = null)
    {
        var smtp = await SmtpSink.StartAsync(cancellationToken: cancellationToken);
        var fcm = await FcmEndpoint.StartAsync(cancellationToken: cancellationToken);
        var app = new JourneyWorkerApp()
            .With("Runtime:Enabled", background ? "true" : "false")
            .With("Runtime:PollInterval", "00:00:00.100")
            .With("Email:Smtp:Host", smtp.Host)
            .With("Email:Smtp:Port", smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("Push:Fcm:ProjectId", fcm.ProjectId)
            .With("Push:Fcm:BaseUrl", fcm.BaseUrl)
            .With("Push:Fcm:CredentialsFile", fcm.CredentialsFile);
        configure?.Invoke(app);
        return new EngineHarness(app, smtp, fcm);
    }

    /// <summary>Runs all due work now, as the Quartz poller would.</summary>
    public Task<int> DrainAsync(CancellationToken cancellationToken) =>
        App.Services.GetRequiredService<InstancePoller>().DrainAsync(cancellationToken);

    public Task<int> ReadAudienceAsync(Guid versionId, bool testOnly, CancellationToken cancellationToken) =>
        App.Services.GetRequiredService<AudienceReader>().ReadAsync(versionId, testOnly, cancellationToken);

    public void Advance(TimeSpan by) => App.Time.Advance(by);

    public async Task<string> PostJsonAsync(string url, string json, CancellationToken cancellationToken, int expected = 200)
    {
        var response = await Client.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True((int)response.StatusCode == expected, $"POST {url}: expected {expected}, got {(int)response.StatusCode}: {body}");
        return body;
    }

    public async Task ImportAsync(string ndjson, CancellationToken cancellationToken)
    {
        var response = await Client.PostAsync("/api/profiles/import", new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"), cancellationToken);
        var result = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>(cancellationToken);
        Assert.Equal(0, result!["failed"]!.GetValue<int>());
    }

    /// <summary>The open-pixel URL of a received e-mail, as a mail client would fetch it.</summary>
    public static string PixelPath(ReceivedMail mail) => TrackingPath(mail, "o");

    public static string TrackingPath(ReceivedMail mail, string kind)
    {
        var html = mail.Message.HtmlBody ?? "";
        var match = Regex.Match(html, $"http://journeys\\.test(/t/{kind}/[A-Za-z0-9_-]+)");
        Assert.True(match.Success, $"No /t/{kind}/ link in: {html}");
        return match.Groups[1].Value;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Smtp.DisposeAsync();
        await Fcm.DisposeAsync();
    }
}
