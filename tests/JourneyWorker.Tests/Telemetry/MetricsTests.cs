using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Telemetry;

/// <summary>
/// The service's series, read through OpenTelemetry's in-memory exporter and through /metrics: each counts what the
/// engine did (events, steps, sends, imports) and each gauge reads the state it names.
/// </summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task The_series_count_events_steps_sends_imports_and_read_the_instances()
    {
        TelemetryCapture capture = null!;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => capture = TelemetryCapture.Into(app, traces: false));
        var import = await h.Client.PostAsync("/api/profiles/import", new StringContent(
            ProfilesNdjson(3) + "{\"identities\": {}}\nnot json\n", Encoding.UTF8, "application/x-ndjson"), Ct);
        Assert.Equal(HttpStatusCode.OK, import.StatusCode);
        await EventConfigAsync(h, "purchase");
        await EventConfigAsync(h, "visit");
        var (journey, _) = await PublishAsync(h, Journey("e", "",
            """{"id": "e", "type": "event", "event": "purchase", "next": "m"}""",
            Mail("m", next: "w"),
            """{"id": "w", "type": "wait", "duration": "PT1H", "next": "c"}""",
            """{"id": "c", "type": "condition", "branches": [{"when": "profile.n = 1", "next": "end"}], "otherwise": "end"}""",
            """{"id": "end", "type": "end"}"""));

        await EventAsync(h, "purchase", 1);
        await EventAsync(h, "purchase", 2);
        await EventAsync(h, "visit", 1);
        await EventAsync(h, "purchase", 99); // no such profile: stored, routes nowhere
        var before = capture.Collect(h.App);
        Assert.Equal(4, before.Value("journeyworker.events.received"));
        Assert.Equal(3, before.Value("journeyworker.events.matched", ("event", "purchase")));
        Assert.Equal(1, before.Value("journeyworker.events.matched", ("event", "visit")));
        Assert.Equal(2, before.Value("journeyworker.events.routed", ("route", "admitted")));
        Assert.Equal(2, before.Value("journeyworker.instances", ("status", "active")));
        Assert.Equal(2, before.Value("journeyworker.due_backlog"));
        Assert.Equal(0, before.Value("journeyworker.intake.queue_depth"));
        Assert.Equal(3, before.Value("journeyworker.import.profiles", ("outcome", "imported")));
        Assert.Equal(2, before.Value("journeyworker.import.profiles", ("outcome", "failed")));
        Assert.Equal(0, before.Value("journeyworker.imports.running"));

        h.Advance(TimeSpan.FromSeconds(3));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        var waiting = capture.Collect(h.App);
        Assert.Equal(2, waiting.Value("journeyworker.sends", ("channel", "email"), ("outcome", "sent")));
        Assert.Equal(2, waiting.Count("journeyworker.send.duration", ("channel", "email"), ("outcome", "sent")));
        Assert.Equal(2, waiting.Value("journeyworker.steps", ("node_type", "email"), ("outcome", "succeeded")));
        Assert.Equal(2, waiting.Value("journeyworker.steps", ("node_type", "wait"), ("outcome", "entered")));
        Assert.Equal(2, waiting.Count("journeyworker.timer.lateness"));
        Assert.Equal(2, waiting.Value("journeyworker.instances", ("status", "waiting")));
        Assert.Equal(0, waiting.Value("journeyworker.due_backlog"));

        // The waits come due (the backlog), then end on the clock; the condition and end nodes count.
        h.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, capture.Collect(h.App).Value("journeyworker.due_backlog"));
        await h.DrainAsync(Ct);
        var done = capture.Collect(h.App);
        Assert.Equal(2, done.Value("journeyworker.steps", ("node_type", "condition"), ("outcome", "succeeded")));
        Assert.Equal(2, done.Value("journeyworker.steps", ("node_type", "end"), ("outcome", "succeeded")));
        Assert.Equal(2, done.Value("journeyworker.instances", ("status", "completed")));
        Assert.Equal(0, done.Value("journeyworker.instances", ("status", "waiting")));
        Assert.Equal(4, done.Count("journeyworker.timer.lateness"));
        Assert.All((await InstancesAsync(h, journey)).Select(i => i.Status), s => Assert.Equal("completed", s));
    }

    [Fact]
    public async Task Metrics_is_anonymous_prometheus_text_with_the_series_names_operators_scrape()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await StartReadAudienceAsync(h, 2, "m", "", Mail("m"));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        await EventConfigAsync(h, "visit");
        await PublishAsync(h, Journey("v", "", """{"id": "v", "type": "event", "event": "visit", "next": "vm"}""", Mail("vm")));
        await EventAsync(h, "visit", 1); // admitted, not run yet
        await h.ImportAsync(ProfilesNdjson(1), Ct);

        var response = await h.App.WithKey(null).GetAsync("/metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(2, Series(text, "journeyworker_sends_total", "channel=\"email\"", "outcome=\"sent\""));
        Assert.Equal(2, Series(text, "journeyworker_steps_total", "node_type=\"email\"", "outcome=\"succeeded\""));
        Assert.Equal(2, Series(text, "journeyworker_instances", "status=\"completed\""));
        Assert.Equal(1, Series(text, "journeyworker_due_backlog")); // the visit admitted, due now
        Assert.Equal(1, Series(text, "journeyworker_events_received_total"));
        Assert.Equal(1, Series(text, "journeyworker_events_matched_total", "event=\"visit\""));
        Assert.Equal(1, Series(text, "journeyworker_events_routed_total", "route=\"admitted\""));
        Assert.Equal(1, Series(text, "journeyworker_instances", "status=\"active\""));
        Assert.Equal(3, Series(text, "journeyworker_import_profiles_total", "outcome=\"imported\"")); // 2 lines, then 1
        Assert.Equal(2, Series(text, "journeyworker_send_duration_seconds_count", "channel=\"email\""));
        Assert.Equal(2, Series(text, "journeyworker_timer_lateness_seconds_count"));
        Assert.Equal(0, Series(text, "journeyworker_intake_queue_depth"));
        Assert.Contains("# TYPE journeyworker_timer_lateness_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("journeyworker_timer_lateness_seconds_bucket{le=\"300\"}", text, StringComparison.Ordinal);

        // The Grafana dashboard in deploy/ reads only series and labels that are scraped here.
        var series = text.Split('\n').Select(l => SeriesLine().Match(l)).Where(m => m.Success)
            .GroupBy(m => m.Groups["name"].Value)
            .ToDictionary(g => g.Key, g => g.SelectMany(m => LabelName().Matches(m.Groups["labels"].Value).Select(l => l.Groups[1].Value)).ToHashSet());
        var dashboard = await File.ReadAllTextAsync(RepositoryFile("deploy/grafana-dashboard.json"), Ct);
        var queries = System.Text.Json.Nodes.JsonNode.Parse(dashboard)!["panels"]!.AsArray()
            .SelectMany(p => p!["targets"]?.AsArray() ?? []).Select(t => t!["expr"]!.GetValue<string>()).ToList();
        Assert.NotEmpty(queries);
        foreach (var query in queries)
        {
            foreach (Match used in Regex.Matches(query, @"\b((?:journeyworker|http)_[a-z_]+)(?=[{\[])(?:\{(?<labels>[^}]*)\})?"))
            {
                var name = used.Groups[1].Value;
                Assert.True(series.ContainsKey(name), $"The dashboard reads {name}, which /metrics does not expose ({query}).");
                var labels = LabelName().Matches(used.Groups["labels"].Value).Select(l => l.Groups[1].Value).Where(l => l != "instance");
                var grouped = Regex.Match(query, @"by \((?<by>[a-z_, ]+)\)").Groups["by"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Where(l => l is not ("le" or "instance"));
                Assert.All(labels.Concat(grouped), label => Assert.True(series[name].Contains(label), $"{name} has no label {label} ({query})."));
            }
        }
    }

    private static string RepositoryFile(string name, [System.Runtime.CompilerServices.CallerFilePath] string here = "")
    {
        for (var folder = Path.GetDirectoryName(here); folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (File.Exists(Path.Combine(folder, "JourneyWorker.sln")))
            {
                return Path.Combine(folder, name);
            }
        }
        throw new FileNotFoundException($"The repository root above {here} was not found.");
    }

    [GeneratedRegex(@"([a-z_]+)=")]
    private static partial Regex LabelName();

    [Fact]
    public async Task Recording_on_the_hot_paths_allocates_nothing_once_each_series_exists()
    {
        // The runner counts every step and send, the writer every event: with the exporters listening (as in
        // production), a recording after the first of its label set must not allocate.
        await using var h = await EngineHarness.StartAsync(Ct);
        var telemetry = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<JourneyWorker.Infrastructure.JourneyTelemetry>(h.App.Services);
        void Record()
        {
            telemetry.StepExecuted("email", "succeeded");
            telemetry.MessageSent("email", "sent");
            telemetry.SendTook("email", "sent", TimeSpan.FromMilliseconds(3));
            telemetry.TimerLateness(TimeSpan.FromMilliseconds(120));
            telemetry.EventMatched("purchase");
            telemetry.EventsRouted(1, 1);
            telemetry.EventsReceived(1);
        }
        Record();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Record();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>The value of the series <paramref name="name"/> whose labels include <paramref name="labels"/> (exactly one such line).</summary>
    private static double Series(string text, string name, params string[] labels)
    {
        var lines = text.Split('\n').Where(l => SeriesLine().Match(l) is { Success: true } m && m.Groups["name"].Value == name
            && labels.All(label => m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))).ToList();
        var line = Assert.Single(lines);
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? \S+$")]
    private static partial Regex SeriesLine();
}
