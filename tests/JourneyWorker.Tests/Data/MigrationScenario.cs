using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Data;

/// <summary>
/// A SQLite database with journeys in every state, made through the real service: five profiles (with push tokens)
/// read into an e-mail → open-or-timeout → purchase journey, a second journey in test mode with a wait override, and a
/// third that admits profiles leaving the audience (so its members are recorded).
/// When <see cref="BuildAsync"/> returns: p1 opened and waits for a purchase, p2 and p5 wait for the open (timeout in
/// an hour), p3 opened, unsubscribed and bought (its thanks skipped: completed), p4 opened and bought (completed);
/// p4's first e-mail was reported as a soft bounce (recorded, not yet suppressing).
/// </summary>
public static partial class MigrationScenario
{
    public const string First = "First";

    public static string Journey(string audienceId) => Runtime.Engine.Journey("read", """ "goal": {"event": "purchase", "within": "P7D"} """.Trim(),
        Read(audienceId, "m"),
        """{"id": "m", "type": "email", "subject": "First", "html": "<p>Hello, see <a href=\"https://shop.example.com/new\">what is new</a></p>", "next": "r"}""",
        """{"id": "r", "type": "reaction", "action": "m", "reaction": "emailOpened", "timeout": "PT1H", "timeoutNext": "nudge", "next": "e"}""",
        """{"id": "e", "type": "event", "event": "purchase", "next": "thanks"}""",
        Mail("thanks", subject: "Thanks"),
        Mail("nudge", subject: "Nudge"));

    public static async Task<Guid> BuildAsync(EngineHarness h)
    {
        await h.ImportAsync(Profiles(5), Ct);
        // p1 again as a long import: its import resource is a row to carry as well.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/profiles/import") { Content = new StringContent(Profiles(1), Encoding.UTF8, "application/x-ndjson") })
        {
            request.Headers.Add("Prefer", "respond-async");
            using var admin = h.App.Admin();
            using var response = await admin.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        await EventConfigAsync(h, "purchase");
        // Caps that hold nobody back here (an interval on PostgreSQL), so that the copy has rules to carry.
        await Runtime.CapScenario.PutRulesAsync(h, """{"rules": [{"channel": "email", "max": 10, "per": "P7D"}, {"channel": "any", "max": 20, "per": "PT12H"}]}""");
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey(audience));
        Assert.Equal(5, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(5, cancellationToken: Ct);

        foreach (var n in new[] { 1, 3, 4 })
        {
            await OpenAsync(h.App, FirstMail(h, n));
        }
        await h.DrainAsync(Ct);
        await UnsubscribeAsync(h.App, FirstMail(h, 3));
        await h.PostJsonAsync("/api/email-feedback", $$"""{"type": "bounce", "bounceType": "soft", "messageId": "{{FirstMail(h, 4).Message.MessageId}}", "status": "4.2.2"}""", Ct);
        await EventAsync(h, "purchase", 3, "\"product\": \"Hat\"");
        await EventAsync(h, "purchase", 4, "\"product\": \"Shoes\"");
        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct);

        // A draft in test mode carries the wait override (an interval on PostgreSQL).
        var tried = await CreateAsync(h, Runtime.Engine.Journey("read", "", Read(audience, "w"),
            """{"id": "w", "type": "wait", "duration": "P1D", "next": "x"}""", Mail("x")));
        await h.PostJsonAsync($"/api/journeys/{tried}/test", """{"enabled": true, "waitOverride": "PT30S"}""", Ct);

        // A journey for the profiles that leave the audience: the audience's current members are recorded.
        await PublishAsync(h, Runtime.Engine.Journey("q", "",
            $$"""{"id": "q", "type": "audienceQualification", "audience": "{{audience}}", "on": "exit", "next": "x"}""", Mail("x")));
        return journey;
    }

    /// <summary>Profiles p1…pN, each with a push token.</summary>
    public static string Profiles(int count)
    {
        var ndjson = new StringBuilder();
        for (var n = 1; n <= count; n++)
        {
            ndjson.Append(System.Globalization.CultureInfo.InvariantCulture,
                $$"""{"identities": {"email": "{{Email(n)}}"}, "attributes": {"n": {{n}}, "name": "P{{n}}"}, "pushTokens": [{"token": "phone-{{n}}", "platform": "android"}]}""")
                .Append('\n');
        }
        return ndjson.ToString();
    }

    public static ReceivedMail FirstMail(EngineHarness h, int profile) =>
        h.Smtp.Messages.Single(m => m.To.Single() == Email(profile) && m.Message.Subject == First);

    /// <summary>The open pixel of a mail, fetched from <paramref name="app"/> as a mail client would.</summary>
    public static async Task OpenAsync(JourneyWorkerApp app, ReceivedMail mail)
    {
        var response = await app.WithKey(null).GetAsync(EngineHarness.PixelPath(mail), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>RFC 8058 one-click unsubscribe, as the mail provider posts it.</summary>
    public static async Task UnsubscribeAsync(JourneyWorkerApp app, ReceivedMail mail)
    {
        var header = UnsubscribeHeader().Match(mail.Message.Headers["List-Unsubscribe"] ?? "");
        Assert.True(header.Success, mail.Message.Headers["List-Unsubscribe"]);
        var response = await app.WithKey(null).PostAsync(header.Groups[1].Value, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]), Ct);
        Assert.True(response.IsSuccessStatusCode, $"unsubscribe: {(int)response.StatusCode}");
    }

    /// <summary>
    /// Every row of every table as JSON, in key order (sorted here: SQLite orders Guid text, PostgreSQL uuid bytes), with
    /// times to the microsecond PostgreSQL keeps (a version touched twice in one tick is a tick later on SQLite).
    /// Instance leases are left out: they are not copied.
    /// </summary>
    public static async Task<Dictionary<string, List<string>>> RowsAsync(JourneyDbContext db) => new()
    {
        ["Profiles"] = Json((await db.Profiles.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["ProfileIdentities"] = Json((await db.ProfileIdentities.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["PushTokens"] = Json((await db.PushTokens.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["ProfileImports"] = Json((await db.ProfileImports.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["Audiences"] = Json((await db.Audiences.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["AudienceMembers"] = Json((await db.AudienceMembers.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.AudienceId).ThenBy(r => r.ProfileId)),
        ["EventConfigs"] = Json((await db.EventConfigs.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["Journeys"] = Json((await db.Journeys.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["JourneyVersions"] = Json((await db.JourneyVersions.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["JourneyInstances"] = Json((await db.JourneyInstances.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)
            .Select(i => { i.LeaseOwner = null; i.LeaseUntil = null; return i; })),
        ["InstanceSteps"] = Json((await db.InstanceSteps.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["OutboxMessages"] = Json((await db.OutboxMessages.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["StoredEvents"] = Json((await db.StoredEvents.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["TrackedLinks"] = Json((await db.TrackedLinks.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["MessageReactions"] = Json((await db.MessageReactions.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["Conversions"] = Json((await db.Conversions.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.InstanceId)),
        ["NodeCounters"] = Json((await db.NodeCounters.AsNoTracking().ToListAsync(Ct))
            .OrderBy(r => r.VersionId.ToString()).ThenBy(r => r.NodeId, StringComparer.Ordinal).ThenBy(r => r.Shard)),
        ["EmailSuppressions"] = Json((await db.EmailSuppressions.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.AddressHash, StringComparer.Ordinal)),
        ["FrequencyRules"] = Json((await db.FrequencyRules.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
        ["EmailFeedback"] = Json((await db.EmailFeedback.AsNoTracking().ToListAsync(Ct)).OrderBy(r => r.Id)),
    };

    private static readonly JsonSerializerOptions Microseconds = new() { Converters = { new MicrosecondTimes() } };

    private static List<string> Json<T>(IEnumerable<T> rows) => [.. rows.Select(r => JsonSerializer.Serialize(r, Microseconds))];

    private sealed class MicrosecondTimes : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDateTime();

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMicrosecond)));
    }

    [GeneratedRegex("^<http://journeys\\.test(/t/u/[A-Za-z0-9_-]+)>$")]
    private static partial Regex UnsubscribeHeader();
}
