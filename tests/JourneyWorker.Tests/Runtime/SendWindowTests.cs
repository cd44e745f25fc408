using System.Net.Http.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Send windows and waits until a local time on the real host, on the fake clock (which starts on Monday 2 March 2026,
/// 09:00 UTC: 04:00 in New York, 09:00 in London, 18:00 in Tokyo).
/// </summary>
public sealed class SendWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private const string Profiles = """
        {"identities": {"email": "p1@example.com"}, "attributes": {"n": 1, "timeZone": "America/New_York"}}
        {"identities": {"email": "p2@example.com"}, "attributes": {"n": 2, "timeZone": "Europe/London"}}
        {"identities": {"email": "p3@example.com"}, "attributes": {"n": 3, "timeZone": "Mars/Olympus_Mons"}}
        {"identities": {"email": "p4@example.com"}, "attributes": {"n": 4}}
        """;

    private static string WindowedMail(string window) =>
        $$"""{"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>", "sendWindow": {{window}}, "next": "done"}""";

    private static async Task<Dictionary<long, JourneyInstance>> ByProfileAsync(EngineHarness h, Guid journey) =>
        (await InstancesAsync(h, journey)).ToDictionary(i => i.ProfileId);

    [Fact]
    public async Task A_send_outside_the_window_waits_for_its_opening_in_the_profiles_zone_and_goes_out_then()
    {
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.With("Journeys:DefaultTimeZone", "Asia/Tokyo"));
        await h.ImportAsync(Profiles, Ct);
        var (journey, _) = await PublishAndReadAsync(h,
            WindowedMail("""{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:00", "timeZone": "profile"}"""));
        await h.DrainAsync(Ct);

        // London: 09:00, inside: sent at once. New York: 04:00, opens at 09:00 EST (14:00Z). Tokyo (p4: the default
        // zone; p3: an unknown zone falls back to it): 18:00, opens on Tuesday at 09:00 JST (00:00Z).
        Assert.Equal([Email(2)], (await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).Select(m => m.To.Single()));
        var instances = await ByProfileAsync(h, journey);
        Assert.Equal(InstanceStatus.Completed, instances[2].Status);
        Assert.Equal((InstanceStatus.Waiting, WaitKeys.SendWindow, Start.AddHours(5).ToUnixTimeMilliseconds()),
            (instances[1].Status, instances[1].WaitingFor, instances[1].DueAt));
        Assert.Equal(Start.AddHours(15).ToUnixTimeMilliseconds(), instances[3].DueAt);
        Assert.Equal(Start.AddHours(15).ToUnixTimeMilliseconds(), instances[4].DueAt);

        var waiting = (await StepsAsync(h.App, instances[1].Id))[^1];
        Assert.Equal(("m", StepOutcome.Entered), (waiting.Node, waiting.Outcome));
        Assert.Equal("Outside the send window mon,tue,wed,thu,fri 09:00-17:00 (America/New_York): waits until Mon 2026-03-02 09:00 local, 2026-03-02T14:00:00Z.",
            waiting.Detail);
        var fallback = (await StepsAsync(h.App, instances[3].Id))[^1].Detail!;
        Assert.Contains("(Asia/Tokyo)", fallback, StringComparison.Ordinal);
        Assert.Contains("Warning: the profile's timeZone 'Mars/Olympus_Mons' is not a known IANA time zone; used Asia/Tokyo.", fallback, StringComparison.Ordinal);

        h.Advance(TimeSpan.FromHours(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await h.DrainAsync(Ct));
        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.DrainAsync(Ct));
        Assert.Equal(Email(1), (await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct))[^1].To.Single());
        Assert.Equal(["read:entered", "read:succeeded", "m:entered", "m:succeeded", "done:entered", "done:succeeded"], await TraceAsync(h, instances[1].Id));

        h.Advance(TimeSpan.FromHours(10));
        Assert.Equal(2, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(4, cancellationToken: Ct);
        Assert.All((await ByProfileAsync(h, journey)).Values, i => Assert.Equal(InstanceStatus.Completed, i.Status));
    }

    [Fact]
    public async Task A_wake_up_that_finds_the_window_closed_again_waits_for_the_next_opening()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(Profiles.Split('\n')[0], Ct);
        var (journey, _) = await PublishAndReadAsync(h,
            WindowedMail("""{"days": ["mon", "tue"], "from": "09:00", "to": "10:00", "timeZone": "America/New_York"}"""));
        await h.DrainAsync(Ct);
        Assert.Equal(Start.AddHours(5).ToUnixTimeMilliseconds(), (await SingleInstanceAsync(h, journey)).DueAt);

        // The worker was down from 09:00 to 10:30 New York time: the window closed meanwhile; Tuesday's opens at 14:00Z.
        h.Advance(TimeSpan.FromHours(6.5));
        Assert.Equal(1, await h.DrainAsync(Ct));
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Waiting, Start.AddHours(29).ToUnixTimeMilliseconds()), (instance.Status, instance.DueAt));
        Assert.Empty(h.Smtp.Messages);

        h.Advance(TimeSpan.FromHours(22.5));
        Assert.Equal(1, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        Assert.Equal(["m:entered", "m:succeeded", "done:entered", "done:succeeded"], (await TraceAsync(h, instance.Id))[2..]);
    }

    [Fact]
    public async Task A_window_across_midnight_is_open_after_midnight()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(Profiles.Split('\n')[0], Ct);
        // Sunday 22:00 to Monday 06:00 in New York: Monday 04:00 EST is inside.
        var (journey, _) = await PublishAndReadAsync(h, WindowedMail("""{"days": ["sun"], "from": "22:00", "to": "06:00"}"""));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }

    [Fact]
    public async Task Wait_until_a_local_time_waits_for_the_next_such_time_in_the_named_or_the_profiles_zone()
    {
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.With("Journeys:DefaultTimeZone", "Asia/Tokyo"));
        await h.ImportAsync(Profiles, Ct);
        var audience = await AudienceAsync(h);
        var (profileZone, version) = await PublishAsync(h, Journey("read", "", Read(audience, "w"),
            """{"id": "w", "type": "wait", "until": {"time": "09:00", "timeZone": "profile"}, "next": "m"}""", Mail("m")));
        await h.ReadAudienceAsync(version, testOnly: false, Ct);
        await h.DrainAsync(Ct);

        var instances = await ByProfileAsync(h, profileZone);
        Assert.Equal(Start.AddHours(5).ToUnixTimeMilliseconds(), instances[1].DueAt);  // New York: today 09:00 EST
        Assert.Equal(InstanceStatus.Completed, instances[2].Status);                    // London: 09:00 now, on at once
        Assert.Equal(Start.AddHours(15).ToUnixTimeMilliseconds(), instances[4].DueAt);  // Tokyo (the default): 18:00, so tomorrow 09:00
        Assert.Equal(Start.AddHours(15).ToUnixTimeMilliseconds(), instances[3].DueAt);
        Assert.Contains("Warning: the profile's timeZone 'Mars/Olympus_Mons'", (await StepsAsync(h.App, instances[3].Id))[^1].Detail, StringComparison.Ordinal);

        var (named, namedVersion) = await PublishAsync(h, Journey("read", "", Read(audience, "w"),
            """{"id": "w", "type": "wait", "until": {"time": "09:00", "timeZone": "Asia/Tokyo"}, "next": "m"}""", Mail("m")));
        await h.ReadAudienceAsync(namedVersion, testOnly: false, Ct);
        await h.DrainAsync(Ct);
        Assert.All(await InstancesAsync(h, named), i => Assert.Equal(Start.AddHours(15).ToUnixTimeMilliseconds(), i.DueAt));

        // The object form is stored and read back as written; the moment form stays a string.
        var definition = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{named}", Ct))!["definition"]!["nodes"]![1]!;
        Assert.Equal("""{"time":"09:00","timeZone":"Asia/Tokyo"}""", definition["until"]!.ToJsonString());

        h.Advance(TimeSpan.FromHours(15));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(8, cancellationToken: Ct);
        Assert.All((await InstancesAsync(h, profileZone)).Concat(await InstancesAsync(h, named)), i => Assert.Equal(InstanceStatus.Completed, i.Status));
    }

    [Fact]
    public async Task In_test_mode_a_window_wait_lasts_the_wait_override_and_the_message_then_goes_out()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(1, test: _ => true), Ct);
        var id = await CreateAsync(h, Journey("read", "", Read(await AudienceAsync(h), "m"),
            WindowedMail("""{"days": ["sat"], "from": "09:00", "to": "10:00"}"""), """{"id": "done", "type": "end"}"""));
        await (await h.Client.PostAsJsonAsync($"/api/journeys/{id}/test", new { enabled = true, waitOverride = "PT5S" }, Ct)).OkAsync<JsonObject>();
        await h.ReadAudienceAsync(await VersionAsync(h, id, JourneyWorker.Journeys.Model.JourneyStatus.Draft), testOnly: true, Ct);
        await h.DrainAsync(Ct);
        var instance = await SingleInstanceAsync(h, id);
        Assert.Equal((InstanceStatus.Waiting, Start.AddSeconds(5).ToUnixTimeMilliseconds()), (instance.Status, instance.DueAt));
        Assert.EndsWith("Test mode: waits PT5S instead.", (await StepsAsync(h.App, instance.Id))[^1].Detail, StringComparison.Ordinal);

        h.Advance(TimeSpan.FromSeconds(5));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, id)).Status);
    }

    [Fact]
    public void An_unknown_default_zone_stops_the_service_at_start_naming_the_setting()
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With("Journeys:DefaultTimeZone", "Mars/Olympus_Mons"));
        Assert.Contains("Journeys:DefaultTimeZone 'Mars/Olympus_Mons'", error, StringComparison.Ordinal);
    }

    private static async Task<(Guid Journey, Guid Version)> PublishAndReadAsync(EngineHarness h, string message)
    {
        var published = await PublishAsync(h, Journey("read", "", Read(await AudienceAsync(h), "m"), message, """{"id": "done", "type": "end"}"""));
        await h.ReadAudienceAsync(published.Version, testOnly: false, Ct);
        return published;
    }
}
