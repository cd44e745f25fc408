using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.OpenApi.Generated;
using JourneyWorker.Tests.Runtime;

namespace JourneyWorker.Tests.OpenApi;

/// <summary>
/// The seed use case driven only through the client NSwag generated from the served document, against the real host
/// (real SMTP and FCM endpoints on loopback): profiles, audience, event configuration, journey, publish, events, reactions.
/// </summary>
public sealed class GeneratedClientSeedTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_seed_journey_runs_through_the_generated_client()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var admin = new JourneyWorkerClient(h.App.Admin());
        var shop = new JourneyWorkerClient(h.App.Ingest());
        var anonymous = new JourneyWorkerClient(h.App.WithKey(null));

        using var ndjson = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(SeedJourneyTests.Profiles));
        var imported = await admin.ImportProfilesAsync(ndjson, Ct);
        Assert.Equal((6, 0), (imported.Imported, imported.Failed));
        var audience = await admin.CreateAudienceAsync(new AudienceRequest
        {
            Name = "West and South, born after 1980",
            Rule = "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980",
        }, Ct);
        Assert.Equal(4, (await admin.PreviewAudienceAsync(audience.Id, Ct)).Count);
        var purchase = await admin.CreateEventConfigAsync(new EventConfigRequest
        {
            Name = "purchase",
            IdType = "ruleBased",
            Condition = "purchaseMessage = \"thank you\"",
            Namespace = "email",
            ProfileIdentifier = "customerEmail",
            Fields = [new EventFieldRequest { Path = "productName", Type = "string" }, new EventFieldRequest { Path = "purchaseDate", Type = "dateTime" }],
        }, Ct);
        Assert.Equal(["productName", "purchaseDate"], purchase.Fields.Select(f => f.Path));

        var created = await admin.CreateJourneyAsync(new JourneyDefinition
        {
            Name = "Multi-channel",
            Start = "read",
            Timeout = "P91D",
            Nodes =
            [
                new NodeDefinition { Id = "read", Type = "readAudience", Audience = audience.Id.ToString(), Schedule = new ScheduleDefinition { Frequency = "once" }, Next = "first" },
                new NodeDefinition { Id = "first", Type = "email", Subject = "Hello {{profile.person.name.firstName}}", Html = "<p>Hi {{profile.person.name.firstName}}</p>", Next = "opened" },
                new NodeDefinition { Id = "opened", Type = "reaction", Action = "first", Reaction = "emailOpened", Next = "purchase", Timeout = "P1D", TimeoutNext = "followUp" },
                new NodeDefinition { Id = "followUp", Type = "email", Subject = "Did you miss us, {{profile.person.name.firstName}}?", Html = "<p>Still there?</p>" },
                new NodeDefinition { Id = "purchase", Type = "event", Event = "purchase", Next = "thanks" },
                new NodeDefinition { Id = "thanks", Type = "push", Title = "Thank you", Body = "Enjoy your {{events.purchase.productName}}" },
            ],
        }, Ct);
        Assert.Equal((1, "draft"), (created.Version, created.Status));
        var validation = await admin.ValidateJourneyAsync(created.Id, Ct);
        Assert.True(validation.Valid, string.Join("; ", validation.Errors.Select(e => e.Message)));
        var live = await admin.PublishJourneyAsync(created.Id, Ct);
        Assert.Equal("live", live.Status);

        // The published Read Audience runs (as its schedule would): Ann, Bob and Fay are mailed, Eve has no consent.
        Assert.Equal(4, await h.ReadAudienceAsync(await Engine.VersionAsync(h, created.Id, "live"), testOnly: false, Ct));
        await h.DrainAsync(Ct);
        var mails = await h.Smtp.WaitForMessagesAsync(3, cancellationToken: Ct);
        var ann = Assert.Single(mails, m => m.To.Single() == "ann@example.com");
        Assert.Equal("Hello Ann", ann.Message.Subject);

        // Ann's mail client fetches the pixel; then the shop reports her purchase (retried with the same key).
        using (var pixel = await anonymous.TrackEmailOpenAsync(EngineHarness.PixelPath(ann).Split('/')[^1], Ct))
        {
            Assert.Equal(200, pixel.StatusCode);
        }
        await h.DrainAsync(Ct);
        var payload = new Dictionary<string, object>
        {
            ["purchaseMessage"] = "thank you", ["customerEmail"] = "ann@example.com", ["productName"] = "Shoes", ["purchaseDate"] = "2026-03-02T10:00:00Z",
        };
        var accepted = await shop.IngestEventAsync("order-1001", payload, Ct);
        Assert.Equal(["purchase"], accepted.Matched);
        Assert.Equal(1, accepted.Routed);
        var repeated = await shop.IngestEventAsync("order-1001", payload, Ct);
        Assert.Equal((accepted.Id, 1), (repeated.Id, repeated.Routed));
        await h.DrainAsync(Ct);

        var push = Assert.Single(h.Fcm.Messages);
        Assert.Equal(("ann-phone", "Enjoy your Shoes"), (push.Token, push.Message["notification"]!["body"]!.GetValue<string>()));
        await anonymous.TrackPushOpenAsync(push.Message["data"]!["trackingToken"]!.GetValue<string>(), Ct);

        var report = await admin.GetJourneyReportAsync(created.Id, Ct);
        Assert.Equal((3, 1, 1), (report.Nodes["first"].Succeeded, report.Nodes["opened"].Succeeded, report.Nodes["thanks"].Succeeded));
        var instance = Assert.Single(await admin.ListJourneyInstancesAsync(created.Id, "email:ann@example.com", Ct));
        Assert.Equal("completed", instance.Status);
        Assert.Equal(instance.Steps.Count, (await admin.GetInstanceAsync(instance.Id, Ct)).Steps.Count);
        Assert.Contains(instance.Steps, s => s.Node == "thanks" && s.Outcome == "succeeded");

        // Problems arrive as the declared ProblemDetails: a wrong key, an unknown id, a conflict.
        var unauthorized = await Assert.ThrowsAsync<JourneyWorkerApiException<ProblemDetails>>(() => shop.ListAudiencesAsync(Ct));
        Assert.Equal(401, unauthorized.StatusCode);
        var missing = await Assert.ThrowsAsync<JourneyWorkerApiException<ProblemDetails>>(() => admin.GetJourneyAsync(Guid.NewGuid(), Ct));
        Assert.Equal((404, 404), (missing.StatusCode, missing.Result.Status));
        var inUse = await Assert.ThrowsAsync<JourneyWorkerApiException<ProblemDetails>>(() => admin.DeleteAudienceAsync(audience.Id, Ct));
        Assert.Equal(409, inUse.StatusCode);
        var invalid = await Assert.ThrowsAsync<JourneyWorkerApiException<HttpValidationProblemDetails>>(() =>
            admin.CreateAudienceAsync(new AudienceRequest { Name = "", Rule = "city = " }, Ct));
        Assert.Equal(400, invalid.StatusCode);
        Assert.Contains("rule", invalid.Result.Errors!.Keys);
    }
}
