using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// Journeys that start with an audienceQualification node: profiles enter when a write (PUT, import) makes them start
/// (enter) or stop (exit) matching the audience, never for matching already, and never on a re-import of the same data.
/// </summary>
public sealed class AudienceQualificationTests
{
    private const string Gold = "tier = \"gold\"";

    private static string Tier(string tier) => $"\"tier\": \"{tier}\"";

    private static string Qualify(string audience, string on, string extra = "") => Journey("q", extra,
        $$"""{"id": "q", "type": "audienceQualification", "audience": "{{audience}}", "on": "{{on}}", "next": "m"}""",
        Mail("m", subject: "Hi {{profile.name}}"));

    /// <summary>PUT /api/profiles/email/pN with the given tier (and test flag).</summary>
    private static async Task PutAsync(EngineHarness h, int n, string tier, bool test = false)
    {
        var body = $$"""{"attributes": {"n": {{n}}, "name": "P{{n}}", "tier": "{{tier}}"}, "testProfile": {{(test ? "true" : "false")}}}""";
        var response = await h.Client.PutAsync($"/api/profiles/email/{Email(n)}", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        await response.OkAsync<JsonObject>();
    }

    private static async Task<long> ProfileIdAsync(EngineHarness h, int n)
    {
        await using var db = h.App.Db();
        return await db.ProfileIdentities.Where(i => i.Namespace == "email" && i.Value == Email(n)).Select(i => i.ProfileId).SingleAsync(Ct);
    }

    private static async Task<List<long>> EnteredAsync(EngineHarness h, Guid journey) =>
        [.. (await InstancesAsync(h, journey)).Select(i => i.ProfileId)];

    private static async Task<List<long>> MembersAsync(EngineHarness h, string audience)
    {
        await using var db = h.App.Db();
        var id = Guid.Parse(audience);
        return await db.AudienceMembers.Where(m => m.AudienceId == id).Select(m => m.ProfileId).OrderBy(p => p).ToListAsync(Ct);
    }

    [Fact]
    public async Task A_profile_updated_to_match_enters_and_gets_the_first_email()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(3, _ => Tier("silver")), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (journey, _) = await PublishAsync(h, Qualify(audience, "enter"));
        Assert.Empty(await InstancesAsync(h, journey));

        await PutAsync(h, 2, "gold");
        await PutAsync(h, 3, "bronze"); // written, still not matching

        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal(await ProfileIdAsync(h, 2), instance.ProfileId);
        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal((Email(2), "Hi P2"), (mail.To.Single(), mail.Message.Subject));
        Assert.Equal(["q:entered", "q:succeeded", "m:entered", "m:succeeded"], await TraceAsync(h, instance.Id));
        var steps = await StepsAsync(h.App, instance.Id);
        Assert.Equal("Qualified for the audience", steps[0].Detail);

        // The report counts the entry at the start node, as for the other entry nodes.
        var report = (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{journey}/report", Ct))!;
        Assert.Equal((1, 1), (report["nodes"]!["q"]!["entered"]!.GetValue<int>(), report["nodes"]!["m"]!["succeeded"]!.GetValue<int>()));
        Assert.Equal(1, report["instances"]!["completed"]!.GetValue<int>());

        // Written again while still matching: nobody newly qualifies.
        await PutAsync(h, 2, "gold");
        Assert.Single(await InstancesAsync(h, journey));
    }

    [Fact]
    public async Task Profiles_that_matched_before_publish_do_not_enter_and_a_reimport_of_unchanged_profiles_admits_nobody()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        string Attributes(int n) => Tier(n % 2 == 0 ? "gold" : "silver");
        await h.ImportAsync(ProfilesNdjson(10, Attributes), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (journey, _) = await PublishAsync(h, Qualify(audience, "enter", "\"reentrance\": {\"allowed\": true}"));

        // Publishing recorded the five gold profiles as members and admitted none of them.
        Assert.Empty(await InstancesAsync(h, journey));
        Assert.Equal(5, (await MembersAsync(h, audience)).Count);

        // The same file again (every line an update of an existing profile): nobody newly matches.
        await h.ImportAsync(ProfilesNdjson(10, Attributes), Ct);
        Assert.Empty(await InstancesAsync(h, journey));

        // Profile 1 turns gold and profile 11 is new and gold: both enter, in one batch of the import.
        await h.ImportAsync(ProfilesNdjson(11, n => Tier(n == 1 || n % 2 == 0 || n == 11 ? "gold" : "silver")), Ct);
        Assert.Equal([await ProfileIdAsync(h, 1), await ProfileIdAsync(h, 11)], (await EnteredAsync(h, journey)).Order());
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);

        // Once more, unchanged: re-entrance is allowed and both instances have completed, yet nobody enters.
        await h.ImportAsync(ProfilesNdjson(11, n => Tier(n == 1 || n % 2 == 0 || n == 11 ? "gold" : "silver")), Ct);
        Assert.Equal(2, (await InstancesAsync(h, journey)).Count);
        Assert.Equal(7, (await MembersAsync(h, audience)).Count);
    }

    [Fact]
    public async Task On_exit_admits_a_profile_when_it_stops_matching_and_reentrance_rules_apply()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(3, _ => Tier("gold")), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (leavers, _) = await PublishAsync(h, Qualify(audience, "exit", "\"reentrance\": {\"allowed\": true}"));
        var (joiners, _) = await PublishAsync(h, Qualify(audience, "enter"));

        await PutAsync(h, 1, "silver");
        await PutAsync(h, 2, "gold"); // still matching: neither journey
        var p1 = await ProfileIdAsync(h, 1);
        Assert.Equal([p1], await EnteredAsync(h, leavers));
        Assert.Empty(await EnteredAsync(h, joiners));
        await h.DrainAsync(Ct);
        Assert.Equal(Email(1), Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).To.Single());

        await PutAsync(h, 1, "silver"); // not a member any more: leaving again is not possible
        Assert.Single(await EnteredAsync(h, leavers));

        await PutAsync(h, 1, "gold"); // back in: the enter journey takes it
        Assert.Equal([p1], await EnteredAsync(h, joiners));
        await PutAsync(h, 1, "silver"); // leaves again: re-entrance is allowed in the exit journey
        Assert.Equal([p1, p1], await EnteredAsync(h, leavers));
        await PutAsync(h, 1, "gold"); // joins again: the enter journey refuses re-entrance (its default)
        Assert.Equal([p1], await EnteredAsync(h, joiners));
    }

    [Fact]
    public async Task A_deleted_profile_admits_nobody_and_leaves_its_memberships()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, _ => Tier("gold")), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (leavers, _) = await PublishAsync(h, Qualify(audience, "exit"));
        var p1 = await ProfileIdAsync(h, 1);
        Assert.Contains(p1, await MembersAsync(h, audience));

        var deleted = await h.Client.DeleteAsync($"/api/profiles/email/{Email(1)}", Ct);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await InstancesAsync(h, leavers));
        Assert.DoesNotContain(p1, await MembersAsync(h, audience));
        Assert.Single(await MembersAsync(h, audience));

        // The same person created again is a new profile that newly matches: not a leaver.
        await PutAsync(h, 1, "gold");
        Assert.Empty(await InstancesAsync(h, leavers));
        Assert.Equal(2, (await MembersAsync(h, audience)).Count);
    }

    [Fact]
    public async Task A_test_mode_draft_admits_only_test_profiles_and_untracked_audiences_keep_no_members()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, _ => Tier("silver"), test: n => n == 1), Ct);
        var audience = await AudienceAsync(h, Gold);
        var journey = await CreateAsync(h, Qualify(audience, "enter"));
        await PutAsync(h, 1, "gold", test: true); // no journey tracks the audience yet
        Assert.Empty(await MembersAsync(h, audience));

        await (await h.Client.PostAsJsonAsync($"/api/journeys/{journey}/test", new { enabled = true }, Ct)).OkAsync<JsonObject>();
        Assert.Equal([await ProfileIdAsync(h, 1)], await MembersAsync(h, audience)); // seeded, not admitted
        Assert.Empty(await InstancesAsync(h, journey));

        await PutAsync(h, 1, "silver", test: true);
        await PutAsync(h, 1, "gold", test: true);
        await PutAsync(h, 2, "gold");
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((await ProfileIdAsync(h, 1), true), (instance.ProfileId, instance.IsTest));
        Assert.Equal(2, (await MembersAsync(h, audience)).Count); // membership is about the rule, whoever may enter

        await (await h.Client.PostAsJsonAsync($"/api/journeys/{journey}/test", new { enabled = false }, Ct)).OkAsync<JsonObject>();
        Assert.Empty(await MembersAsync(h, audience));
        Assert.Empty(await InstancesAsync(h, journey));
    }

    [Fact]
    public async Task An_audience_rule_edited_while_tracked_is_seeded_again_and_the_audience_cannot_be_deleted()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(3, n => Tier(n == 3 ? "platinum" : "gold")), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (journey, _) = await PublishAsync(h, Qualify(audience, "enter"));

        var edited = await h.Client.PutAsJsonAsync($"/api/audiences/{audience}", new { name = "premium", rule = "tier in [\"gold\", \"platinum\"]" }, Ct);
        await edited.OkAsync<JsonObject>();
        Assert.Equal(3, (await MembersAsync(h, audience)).Count);
        await PutAsync(h, 3, "platinum"); // matched the new rule when it was saved: not newly qualifying
        Assert.Empty(await InstancesAsync(h, journey));

        var delete = await h.Client.DeleteAsync($"/api/audiences/{audience}", Ct);
        Assert.Equal(409, (int)delete.StatusCode);

        await h.PostJsonAsync($"/api/journeys/{journey}/stop", "{}", Ct);
        Assert.Empty(await MembersAsync(h, audience));
        await PutAsync(h, 1, "silver");
        await PutAsync(h, 1, "gold");
        Assert.Empty(await InstancesAsync(h, journey));
        Assert.Equal(JourneyStatus.Stopped, (await h.Client.GetFromJsonAsync<JsonObject>($"/api/journeys/{journey}", Ct))!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_updateProfile_node_that_makes_a_profile_match_admits_it_in_the_same_write()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, _ => Tier("silver")), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (golden, _) = await PublishAsync(h, Qualify(audience, "enter"));
        await EventConfigAsync(h, "upgrade");
        var (upgrades, _) = await PublishAsync(h, Journey("e", "",
            """{"id": "e", "type": "event", "event": "upgrade", "next": "up"}""",
            """{"id": "up", "type": "updateProfile", "set": {"tier": "gold"}}"""));

        await EventAsync(h, "upgrade", 1);
        await h.DrainAsync(Ct); // the upgrade journey's updateProfile makes profile 1 gold: it qualifies in that write
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, upgrades)).Status);
        Assert.Equal([await ProfileIdAsync(h, 1)], await EnteredAsync(h, golden));
        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal((Email(1), "Hi P1"), (mail.To.Single(), mail.Message.Subject));
    }

    [Fact]
    public async Task A_publish_during_an_import_records_or_admits_every_matching_profile_once()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var audience = await AudienceAsync(h, Gold);
        var journey = await CreateAsync(h, Qualify(audience, "enter"));

        // 3,000 new gold profiles in six batches of the import while the journey is published: each batch commits
        // either before the publish (its profiles recorded as members, not admitted) or after it (admitted).
        var import = h.ImportAsync(ProfilesNdjson(3_000, _ => Tier("gold")), Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(200), Ct);
        await h.PostJsonAsync($"/api/journeys/{journey}/publish", "{}", Ct);
        await import;

        var members = await MembersAsync(h, audience);
        Assert.Equal(3_000, members.Count);
        var entered = await EnteredAsync(h, journey);
        Assert.Equal(entered.Count, entered.Distinct().Count());
        Assert.Subset(members.ToHashSet(), entered.ToHashSet());
    }

    [Fact]
    public async Task A_new_version_keeps_the_membership_and_admits_into_the_live_version()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(ProfilesNdjson(2, _ => Tier("silver")), Ct);
        var audience = await AudienceAsync(h, Gold);
        var (journey, first) = await PublishAsync(h, Qualify(audience, "enter"));
        await PutAsync(h, 1, "gold");

        await h.PostJsonAsync($"/api/journeys/{journey}/versions", "{}", Ct, 201);
        await h.PostJsonAsync($"/api/journeys/{journey}/publish", "{}", Ct);
        var second = await VersionAsync(h, journey, JourneyStatus.Live);
        Assert.Equal([await ProfileIdAsync(h, 1)], await MembersAsync(h, audience));

        await PutAsync(h, 1, "gold");
        await PutAsync(h, 2, "gold");
        var instances = await InstancesAsync(h, journey);
        Assert.Equal([(await ProfileIdAsync(h, 1), first), (await ProfileIdAsync(h, 2), second)],
            instances.Select(i => (i.ProfileId, i.JourneyVersionId)).ToList());
    }
}
