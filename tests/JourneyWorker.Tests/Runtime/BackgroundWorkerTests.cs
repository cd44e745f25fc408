using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Runtime;

/// <summary>The Quartz side for real: schedules and the poller running in the background of the host, nothing driven by hand.</summary>
public sealed class BackgroundWorkerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Test_mode_reads_the_audience_and_sends_through_the_background_poller()
    {
        await using var h = await EngineHarness.StartAsync(Ct, background: true);
        var (journeyId, _) = await SeedJourneyTests.SetUpAsync(h);
        // Only test profiles enter in test mode: mark Ann as one.
        var ann = await h.Client.PutAsync("/api/profiles/email/ann@example.com", new StringContent("""
            {"attributes": {"person": {"name": {"firstName": "Ann"}, "birthYear": 1985}, "homeAddress": {"city": "Seattle"}}, "testProfile": true}
            """, System.Text.Encoding.UTF8, "application/json"), Ct);
        ann.EnsureSuccessStatusCode();

        await h.PostJsonAsync($"/api/journeys/{journeyId}/test", """{"enabled": true, "waitOverride": "PT5S"}""", Ct);

        // Quartz fires the Read Audience job and the poller sends, on their own.
        await RunClockUntilAsync(h, () => h.Smtp.Messages.Count >= 1, TimeSpan.FromMilliseconds(100));
        var mail = Assert.Single(h.Smtp.Messages);
        Assert.Equal("ann@example.com", mail.To.Single());

        var instances = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}/instances?profile=email:ann@example.com", Ct))!.AsArray();
        var instance = Assert.Single(instances)!;
        Assert.True(instance["test"]!.GetValue<bool>());

        // The reaction's one-day timeout lasts waitOverride (5 s) in test mode.
        await RunClockUntilAsync(h, () => h.Smtp.Messages.Any(m => (m.Message.Subject ?? "").StartsWith("Did you miss us", StringComparison.Ordinal)),
            TimeSpan.FromMilliseconds(500));
        await using (var db = h.App.Db())
        {
            var waited = db.InstanceSteps.Where(s => s.NodeId == "opened").OrderBy(s => s.Seq).Select(s => s.At).ToList();
            Assert.Equal(2, waited.Count); // entered, then timedOut
            Assert.InRange(waited[1] - waited[0], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
        }

        // Turning test mode off removes the test instances and their counts.
        await h.PostJsonAsync($"/api/journeys/{journeyId}/test", """{"enabled": false}""", Ct);
        var report = JsonNode.Parse(await h.Client.GetStringAsync($"/api/journeys/{journeyId}/report", Ct))!;
        var nodes = report["nodes"]!.AsObject();
        Assert.NotEmpty(nodes); // every node of the journey is listed, with nothing counted
        Assert.All(nodes, n => Assert.All(n.Value!.AsObject(), count => Assert.Equal(0, count.Value!.GetValue<int>())));
    }

    /// <summary>Lets the clock run in steps (the host's Quartz and engine both follow it) until the condition holds or 20 s of real time pass.</summary>
    private static async Task RunClockUntilAsync(EngineHarness h, Func<bool> done, TimeSpan step)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!done())
        {
            if (DateTime.UtcNow >= deadline)
            {
                await using var db = h.App.Db();
                var state = string.Join("; ", db.JourneyInstances.Select(i => $"{i.Status} {i.NodeId} due={i.DueAt} lease={i.LeaseUntil}"));
                Assert.Fail($"The background worker did not get there in time (now {h.App.Time.GetUtcNow().ToUnixTimeMilliseconds()}): {state}");
            }
            h.Advance(step);
            await Task.Delay(20, Ct);
        }
    }
}
