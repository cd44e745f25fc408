using System.Net.Http.Json;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Definitions;

/// <summary>`JourneyWorker apply` against the real host: the plan, what it writes, and that a second apply writes nothing.</summary>
public sealed class ApplyCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JourneyWorkerApp App() => new JourneyWorkerApp().With("Runtime:Enabled", "false");

    /// <summary>Every row apply may write, with its change stamp, so that "nothing written" is a comparison.</summary>
    private static async Task<string[]> RowsAsync(JourneyWorkerApp app)
    {
        await using var db = app.Db();
        var audiences = await db.Audiences.AsNoTracking().Select(a => $"audience {a.Id} {a.Name} {a.UpdatedAt.Ticks}").ToListAsync(Ct);
        var configs = await db.EventConfigs.AsNoTracking().Select(c => $"event {c.Id} {c.Name} {c.UpdatedAt.Ticks}").ToListAsync(Ct);
        var versions = await db.JourneyVersions.AsNoTracking().Select(v => $"version {v.JourneyId} {v.Version} {v.Status} {v.UpdatedAt.Ticks}").ToListAsync(Ct);
        return [.. audiences.Concat(configs).Concat(versions).Order(StringComparer.Ordinal)];
    }

    private static async Task<List<JourneyVersion>> VersionsAsync(JourneyWorkerApp app)
    {
        await using var db = app.Db();
        return await db.JourneyVersions.AsNoTracking().OrderBy(v => v.Version).ToListAsync(Ct);
    }

    [Fact]
    public async Task The_example_is_created_with_ids_for_names_and_applying_it_again_writes_nothing()
    {
        await using var app = App();
        using var folder = ExampleFolder.Copy();
        var client = app.Admin();

        var (dryExit, dry) = await ExampleFolder.ApplyAsync(client, folder.Path, "--dry-run");
        Assert.Equal(0, dryExit);
        Assert.Contains($"  create     audience \"{ExampleFolder.AudienceName}\" (audiences/", dry, StringComparison.Ordinal);
        Assert.Contains("  create     event config \"purchase\" (event-configs/purchase.json)", dry, StringComparison.Ordinal);
        Assert.Contains("  create     journey \"Multi-channel\" (journeys/multi-channel.json): new journey, version 1", dry, StringComparison.Ordinal);
        Assert.Contains("plan: 3 to create, 0 to update, 0 unchanged, 0 to publish", dry, StringComparison.Ordinal);
        Assert.Empty(await RowsAsync(app));

        var (exit, output) = await ExampleFolder.ApplyAsync(client, folder.Path);
        Assert.True(exit == 0, output);
        await using (var db = app.Db())
        {
            var audience = await db.Audiences.SingleAsync(Ct);
            Assert.Equal(ExampleFolder.AudienceName, audience.Name);
            Assert.Equal("purchase", (await db.EventConfigs.SingleAsync(Ct)).Name);
            var version = await db.JourneyVersions.SingleAsync(Ct);
            Assert.Equal((1, JourneyStatus.Draft), (version.Version, version.Status));
            // The folder names the audience; the server holds its id.
            var read = CompiledJourney.Parse(version.Definition).Nodes!.Single(n => n.Id == "read");
            Assert.Equal(audience.Id.ToString(), read.Audience);
            Assert.Contains($"created    journey \"Multi-channel\" id {version.JourneyId}: version 1, draft", output, StringComparison.Ordinal);
        }

        var before = await RowsAsync(app);
        app.Time.Advance(TimeSpan.FromMinutes(5)); // any write from here on would carry a later stamp
        var (againExit, again) = await ExampleFolder.ApplyAsync(client, folder.Path, "--dry-run");
        Assert.Equal(0, againExit);
        Assert.Contains("plan: 0 to create, 0 to update, 3 unchanged, 0 to publish", again, StringComparison.Ordinal);
        (againExit, again) = await ExampleFolder.ApplyAsync(client, folder.Path);
        Assert.Equal(0, againExit);
        Assert.Contains("  unchanged  journey \"Multi-channel\" (journeys/multi-channel.json) id ", again, StringComparison.Ordinal);
        Assert.Contains("apply: nothing to change.", again, StringComparison.Ordinal);
        Assert.Equal(before, await RowsAsync(app));
    }

    [Fact]
    public async Task A_change_to_a_live_journey_becomes_a_new_version_shown_as_a_diff_and_goes_live_with_publish()
    {
        await using var app = App();
        using var folder = ExampleFolder.Copy();
        var client = app.Admin();
        var (created, output) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.True(created == 0, output);
        Assert.Contains("published  journey \"Multi-channel\"", output, StringComparison.Ordinal);
        Assert.Equal([(1, JourneyStatus.Live)], (await VersionsAsync(app)).Select(v => (v.Version, v.Status)));

        folder.Edit(ExampleFolder.JourneyFile, "\"title\": \"Thank you\"", "\"title\": \"Thanks a lot\"");
        folder.Edit("audiences/atlanta-san-francisco-or-seattle-born-after-1980.json", "person.birthYear > 1980", "person.birthYear > 1985");
        var (updated, plan) = await ExampleFolder.ApplyAsync(client, folder.Path);
        Assert.True(updated == 0, plan);
        Assert.Contains("live version 1 stays; new draft version 2", plan, StringComparison.Ordinal);
        Assert.Contains("plan: 0 to create, 2 to update, 1 unchanged, 0 to publish", plan, StringComparison.Ordinal);
        var diff = plan.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("      - ", StringComparison.Ordinal) || l.StartsWith("      + ", StringComparison.Ordinal)).ToList();
        Assert.Equal([
            "      -   \"rule\": \"homeAddress.city in [\\\"Atlanta\\\", \\\"San Francisco\\\", \\\"Seattle\\\"] and person.birthYear > 1980\"",
            "      +   \"rule\": \"homeAddress.city in [\\\"Atlanta\\\", \\\"San Francisco\\\", \\\"Seattle\\\"] and person.birthYear > 1985\"",
            "      -       \"title\": \"Thank you\",",
            "      +       \"title\": \"Thanks a lot\",",
        ], diff);

        // The live version is untouched; the change is a draft beside it.
        var versions = await VersionsAsync(app);
        Assert.Equal([(1, JourneyStatus.Live), (2, JourneyStatus.Draft)], versions.Select(v => (v.Version, v.Status)));
        Assert.Equal("Thank you", CompiledJourney.Parse(versions[0].Definition).Nodes!.Single(n => n.Id == "thanks").Title);
        Assert.Equal("Thanks a lot", CompiledJourney.Parse(versions[1].Definition).Nodes!.Single(n => n.Id == "thanks").Title);
        await using (var db = app.Db())
        {
            Assert.EndsWith("> 1985", (await db.Audiences.SingleAsync(Ct)).Rule, StringComparison.Ordinal);
        }

        // Without a change the draft stays; with --publish the draft that matches the folder goes live.
        Assert.Contains("unchanged  journey \"Multi-channel\"", (await ExampleFolder.ApplyAsync(client, folder.Path)).Output, StringComparison.Ordinal);
        var (published, publishOutput) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.True(published == 0, publishOutput);
        Assert.Contains("  publish    journey \"Multi-channel\"", publishOutput, StringComparison.Ordinal);
        Assert.Equal([(1, JourneyStatus.Finished), (2, JourneyStatus.Live)], (await VersionsAsync(app)).Select(v => (v.Version, v.Status)));
        var (_, last) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.Contains("plan: 0 to create, 0 to update, 3 unchanged, 0 to publish", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_with_errors_or_a_name_nothing_defines_applies_nothing()
    {
        await using var app = App();
        var client = app.Admin();
        using (var broken = ExampleFolder.Copy())
        {
            broken.Write("event-configs/broken.json", "{\"name\": \"broken\", ");
            var (exit, output) = await ExampleFolder.ApplyAsync(client, broken.Path);
            Assert.Equal(1, exit);
            Assert.Contains("event-configs/broken.json: line 1, column 20: error json.invalid:", output, StringComparison.Ordinal);
        }
        using (var unknown = ExampleFolder.Copy())
        {
            unknown.Edit(ExampleFolder.JourneyFile, $"\"audience\": \"{ExampleFolder.AudienceName}\"", "\"audience\": \"Nobody\"");
            var (exit, output) = await ExampleFolder.ApplyAsync(client, unknown.Path);
            Assert.Equal(1, exit);
            Assert.Contains("journeys/multi-channel.json: read: error audience.unknown: Node 'read' names audience 'Nobody', which is neither in the folder nor on the server.",
                output, StringComparison.Ordinal);
            Assert.Contains("nothing was applied", output, StringComparison.Ordinal);
        }
        Assert.Empty(await RowsAsync(app));

        // A name the server gives two audiences identifies neither.
        for (var i = 0; i < 2; i++)
        {
            await (await client.PostAsJsonAsync("/api/audiences", new { name = ExampleFolder.AudienceName, rule = "a = 1" }, Ct)).OkAsync<AudienceResponse>(201);
        }
        using (var ambiguous = ExampleFolder.Copy())
        {
            var (exit, output) = await ExampleFolder.ApplyAsync(client, ambiguous.Path);
            Assert.Equal(1, exit);
            Assert.Contains($"audiences/atlanta-san-francisco-or-seattle-born-after-1980.json: name: error audience.ambiguous: The server has 2 audiences named '{ExampleFolder.AudienceName}'",
                output, StringComparison.Ordinal);
            await using var db = app.Db();
            Assert.False(await db.EventConfigs.AnyAsync(Ct));
        }

        var (usage, usageOutput) = await ExampleFolder.ApplyAsync(client);
        Assert.Equal(2, usage);
        Assert.StartsWith("usage: JourneyWorker apply DIR --server URL", usageOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_journey_the_server_refuses_to_publish_stops_the_run_with_its_validation_errors()
    {
        await using var app = App();
        var client = app.Admin();
        using var folder = ExampleFolder.Copy();
        folder.Write("journeys/hook.json", """
            { "name": "Hook", "start": "e",
              "nodes": [ { "id": "e", "type": "event", "event": "purchase", "next": "h" }, { "id": "h", "type": "webhook", "url": "https://hooks.example.com/x" } ] }
            """);
        var (exit, output) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.Equal(1, exit);
        // Everything is stored before the first publish: the drafts are there, nothing went live.
        Assert.Contains("created    journey \"Multi-channel\"", output, StringComparison.Ordinal);
        Assert.Contains("created    journey \"Hook\"", output, StringComparison.Ordinal);
        Assert.DoesNotContain("published  journey", output, StringComparison.Ordinal);
        Assert.Matches(@"apply: stopped: POST /api/journeys/[0-9a-f-]{36}/publish: 422 Journey not valid: The journey is not valid and cannot be published\.\n\s+h: error webhook\.hostNotAllowed: ", output);

        // Fixed, the next run has only the publish left to do.
        folder.Edit("journeys/hook.json", "\"type\": \"webhook\", \"url\": \"https://hooks.example.com/x\"", "\"type\": \"end\"");
        var (fixedExit, fixedOutput) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.True(fixedExit == 0, fixedOutput);
        Assert.Contains("plan: 0 to create, 1 to update, 2 unchanged, 2 to publish", fixedOutput, StringComparison.Ordinal);
        Assert.Equal([JourneyStatus.Live, JourneyStatus.Live], (await VersionsAsync(app)).Select(v => v.Status));
    }

    [Fact]
    public async Task Journeys_that_jump_into_each_other_are_stored_with_each_others_ids()
    {
        await using var app = App();
        var client = app.Admin();
        using var folder = ExampleFolder.Empty();
        foreach (var (name, other) in new[] { ("Ping", "Pong"), ("Pong", "Ping") })
        {
            folder.Write($"journeys/{name.ToLowerInvariant()}.json", $$"""
                { "name": "{{name}}", "start": "in", "nodes": [ { "id": "in", "type": "journeyEntry", "next": "go" }, { "id": "go", "type": "jump", "journey": "{{other}}" } ] }
                """);
        }
        var (exit, output) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.True(exit == 0, output);

        await using (var db = app.Db())
        {
            var ids = await db.Journeys.ToDictionaryAsync(j => j.Name, j => j.Id, Ct);
            foreach (var version in await db.JourneyVersions.ToListAsync(Ct))
            {
                Assert.Equal(JourneyStatus.Live, version.Status);
                var target = CompiledJourney.Parse(version.Definition).Nodes!.Single(n => n.Id == "go").Journey;
                Assert.Equal(ids[version.JourneyId == ids["Ping"] ? "Pong" : "Ping"].ToString(), target);
            }
        }
        var (_, again) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.Contains("plan: 0 to create, 0 to update, 2 unchanged, 0 to publish", again, StringComparison.Ordinal);
    }
}
