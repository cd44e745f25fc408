using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Telemetry;

/// <summary>
/// An event's trace goes on into what it causes: the instance it admits or resumes keeps the event's W3C context, and
/// the run of that instance (its steps) and the e-mail or push it sends are spans of the same trace, down to the HTTP
/// call to FCM, which carries the trace on to the provider.
/// </summary>
public sealed class TracingTests
{
    private const string Profile = """
        {"identities": {"email": "p1@example.com"}, "attributes": {"n": 1, "name": "P1"}, "pushTokens": [{"token": "phone-1", "platform": "android"}]}
        """;

    [Fact]
    public async Task An_events_trace_continues_into_the_steps_and_the_email_or_push_it_caused()
    {
        TelemetryCapture capture = null!;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => capture = TelemetryCapture.Into(app));
        await h.ImportAsync(Profile, Ct);
        await EventConfigAsync(h, "purchase");
        await EventConfigAsync(h, "shipped");
        var (journey, _) = await PublishAsync(h, Journey("start", "",
            """{"id": "start", "type": "event", "event": "purchase", "next": "m"}""",
            Mail("m", next: "w", subject: "Thanks"),
            """{"id": "w", "type": "event", "event": "shipped", "next": "p"}""",
            """{"id": "p", "type": "push", "title": "Shipped", "body": "On its way"}"""));

        // The shop's backend calls with its own trace: the purchase admits the profile, and the e-mail is in that trace.
        var purchase = ActivityTraceId.CreateRandom();
        var caller = ActivitySpanId.CreateRandom();
        await PostTracedAsync(h, purchase, caller, """{"kind": "purchase", "email": "p1@example.com"}""");
        var admitted = await SingleInstanceAsync(h, journey);
        Assert.StartsWith($"00-{purchase}-", admitted.TraceParent, StringComparison.Ordinal);
        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));

        var first = capture.InTrace(purchase);
        var request = Assert.Single(first, s => s.Kind == ActivityKind.Server);
        Assert.Equal(caller, request.ParentSpanId);
        var intake = Assert.Single(first, s => s.OperationName == "journeyworker.event");
        Assert.Equal(request.SpanId, intake.ParentSpanId);
        Assert.Equal(1, intake.GetTagItem("journeyworker.event.routed"));
        var run = Assert.Single(first, s => s.OperationName == "journeyworker.run");
        Assert.Equal(intake.SpanId, run.ParentSpanId);
        Assert.Equal(["m:entered", "m:succeeded", "w:entered"], Steps(run));
        var email = Assert.Single(first, s => s.OperationName == "journeyworker.send");
        Assert.Equal(run.SpanId, email.ParentSpanId);
        Assert.Equal(("email", "sent", mail.Message.MessageId), (email.GetTagItem("journeyworker.channel"), email.GetTagItem("journeyworker.outcome"),
            email.GetTagItem("journeyworker.message.id")));

        // Another call resumes the waiting instance: from then on the instance goes on in the trace of that event.
        var shipped = ActivityTraceId.CreateRandom();
        await PostTracedAsync(h, shipped, ActivitySpanId.CreateRandom(), """{"kind": "shipped", "email": "p1@example.com"}""");
        Assert.StartsWith($"00-{shipped}-", (await SingleInstanceAsync(h, journey)).TraceParent, StringComparison.Ordinal);
        await h.DrainAsync(Ct);
        var fcm = Assert.Single(h.Fcm.Messages);

        var second = capture.InTrace(shipped);
        var resumedRun = Assert.Single(second, s => s.OperationName == "journeyworker.run");
        Assert.Equal(Assert.Single(second, s => s.OperationName == "journeyworker.event").SpanId, resumedRun.ParentSpanId);
        Assert.Equal(["p:entered", "p:succeeded"], Steps(resumedRun));
        var push = Assert.Single(second, s => s.OperationName == "journeyworker.send");
        Assert.Equal((resumedRun.SpanId, "push", "sent"), (push.ParentSpanId, push.GetTagItem("journeyworker.channel"), push.GetTagItem("journeyworker.outcome")));
        // FCM got the trace too: the HTTP call's span, beneath the send, is the parent it was told of.
        Assert.StartsWith($"00-{shipped}-", fcm.TraceParent, StringComparison.Ordinal);
        var call = Assert.Single(second, s => s.Kind == ActivityKind.Client && s.SpanId.ToHexString() == fcm.TraceParent!.Split('-')[2]);
        Assert.Equal(push.SpanId, call.ParentSpanId);
        Assert.DoesNotContain(capture.InTrace(purchase), s => s.OperationName == "journeyworker.send" && s.GetTagItem("journeyworker.channel") is "push");
    }

    [Fact]
    public async Task An_instance_no_event_caused_runs_in_a_trace_of_its_own()
    {
        TelemetryCapture capture = null!;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => capture = TelemetryCapture.Into(app));
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Null(instance.TraceParent);

        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        // By journey id: another test's host may run an instance with the same id at the same time.
        var run = Assert.Single(capture.Spans, s => s.OperationName == "journeyworker.run" && s.GetTagItem("journeyworker.journey.id") as string == journey.ToString());
        Assert.Equal(instance.Id, run.GetTagItem("journeyworker.instance.id"));
        Assert.Equal(default, run.ParentSpanId);
        var send = Assert.Single(capture.InTrace(run.TraceId), s => s.OperationName == "journeyworker.send");
        Assert.Equal(run.SpanId, send.ParentSpanId);
        Assert.Equal("completed", run.GetTagItem("journeyworker.instance.status"));
    }

    private static List<string> Steps(Activity run) =>
        [.. run.Events.Where(e => e.Name == "step").Select(e =>
        {
            var tags = e.Tags.ToDictionary(t => t.Key, t => t.Value);
            return $"{tags["journeyworker.node.id"]}:{tags["journeyworker.outcome"]}";
        })];

    private static async Task PostTracedAsync(EngineHarness h, ActivityTraceId traceId, ActivitySpanId parent, string payload)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", $"00-{traceId}-{parent}-01");
        var response = await h.App.Ingest().SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True((int)response.StatusCode == 202, body);
        Assert.Equal(1, JsonNode.Parse(body)!["routed"]!.GetValue<int>());
    }
}
