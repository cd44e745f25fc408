using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Journeys;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Events.IntakeRequests;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Events;

/// <summary>
/// The group commit of event intake: events queued while the writer is held by the write gate go
/// into one transaction, and each is still stored, deduplicated and routed as if it came alone.
/// </summary>
public sealed class EventIntakeTests
{
    private const string EventWait = """{"id": "e", "type": "event", "event": "purchase", "timeout": "PT1H", "timeoutNext": "late", "next": "thanks"}""";

    [Fact]
    public Task Fifty_concurrent_events_in_one_group_commit_each_resume_and_admit_their_own_profile_once() => FiftyConcurrentEventsAsync(null);

    /// <summary>
    /// On PostgreSQL a group commit's inserts go as one batch of statements, a request's reads as another, and the
    /// runner's writes in batches too: each event still stored, routed and answered as if it came alone.
    /// </summary>
    [Fact]
    public async Task Fifty_concurrent_events_in_one_group_commit_on_PostgreSQL_each_resume_and_admit_their_own_profile_once()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await FiftyConcurrentEventsAsync(pg);
    }

    private static Action<JourneyWorkerApp>? On(PostgreSqlDatabase? pg) =>
        pg is null ? null : app => app.With("Storage:Provider", "PostgreSql").With("ConnectionStrings:Journeys", pg.ConnectionString);

    private static async Task FiftyConcurrentEventsAsync(PostgreSqlDatabase? pg)
    {
        const int People = 50;
        await using var h = await EngineHarness.StartAsync(Ct, configure: On(pg));
        await EventConfigAsync(h, "purchase");
        var (waitJourney, _) = await StartReadAudienceAsync(h, People, "e", "", EventWait, Mail("thanks"), Mail("late"));
        await h.DrainAsync(Ct);
        Assert.All(await InstancesAsync(h, waitJourney), i => Assert.Equal("event:purchase", i.WaitingFor));
        var (startJourney, _) = await PublishAsync(h, """
            {"name": "On purchase", "start": "s", "nodes": [{"id": "s", "type": "event", "event": "purchase", "next": "m"}, {"id": "m", "type": "email", "subject": "Hi", "html": "<p>Hi</p>"}]}
            """);

        var posts = await WhileHeldAsync(h, People, () => Enumerable.Range(1, People).Select(n => Post(h, Purchase(n))).ToList());

        var answers = await Task.WhenAll(posts.Select(AcceptedAsync));
        Assert.All(answers, a => Assert.Equal(2, a["routed"]!.GetValue<int>()));
        var resumed = await InstancesAsync(h, waitJourney);
        Assert.Equal(People, resumed.Count);
        foreach (var instance in resumed)
        {
            Assert.Equal((InstanceStatus.Active, "thanks"), (instance.Status, instance.NodeId));
            Assert.Single(await TraceAsync(h, instance.Id), s => s == "e:succeeded");
        }
        Assert.Equal(resumed.Select(i => i.ProfileId), (await InstancesAsync(h, startJourney)).Select(i => i.ProfileId));
        await using var db = h.App.Db();
        var stored = await db.StoredEvents.AsNoTracking().Where(e => e.Matched != "[]").ToListAsync(Ct);
        Assert.Equal(People, stored.Count);
        Assert.Equal(answers.Select(a => a["id"]!.GetValue<Guid>()).Order(), stored.Select(e => e.Id).Order());
        Assert.All(stored, e => Assert.Equal((2, null), (e.Routed, e.Reason)));
    }

    [Fact]
    public Task Duplicate_idempotency_keys_in_one_batch_all_answer_what_the_first_answered_and_store_one_event() => DuplicateKeysAsync(null);

    [Fact]
    public async Task Duplicate_idempotency_keys_in_one_batch_on_PostgreSQL_all_answer_what_the_first_answered_and_store_one_event()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await DuplicateKeysAsync(pg);
    }

    private static async Task DuplicateKeysAsync(PostgreSqlDatabase? pg)
    {
        await using var h = await EngineHarness.StartAsync(Ct, configure: On(pg));
        await EventConfigAsync(h, "purchase");
        await h.ImportAsync(ProfilesNdjson(1), Ct);

        var posts = await WhileHeldAsync(h, 10, () => Enumerable.Range(0, 10).Select(_ => Post(h, Purchase(1), "order-17")).ToList());

        var answers = await Task.WhenAll(posts.Select(AcceptedAsync));
        Assert.Single(answers.Select(a => a.ToJsonString()).Distinct());
        Assert.Contains("No journey instance waits", answers[0]["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        await using var db = h.App.Db();
        var stored = Assert.Single(await db.StoredEvents.AsNoTracking().Where(e => e.Matched != "[]").ToListAsync(Ct));
        Assert.Equal((answers[0]["id"]!.GetValue<Guid>(), "order-17"), (stored.Id, stored.IdempotencyKey));

        // A retry after the commit gets the same answer from the stored event.
        var retry = await AcceptedAsync(Post(h, Purchase(1), "order-17"));
        Assert.Equal(answers[0].ToJsonString(), retry.ToJsonString());
    }

    [Fact]
    public Task A_configuration_changed_while_its_events_were_queued_routes_them_by_its_new_identity() => ChangedConfigurationAsync(null);

    /// <summary>
    /// On PostgreSQL a batch reads its identities' profiles, locks and waits in one round trip, for the identities the
    /// requests found; the configuration changed before the commit names other ones, which must be read and locked too.
    /// </summary>
    [Fact]
    public async Task A_configuration_changed_while_its_events_were_queued_routes_them_by_its_new_identity_on_PostgreSQL()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await ChangedConfigurationAsync(pg);
    }

    private static async Task ChangedConfigurationAsync(PostgreSqlDatabase? pg)
    {
        const int People = 3;
        await using var h = await EngineHarness.StartAsync(Ct, configure: On(pg));
        var created = JsonNode.Parse(await h.PostJsonAsync("/api/event-configs", ConfigBy("email"), Ct, 201))!;
        var (waitJourney, _) = await StartReadAudienceAsync(h, People, "e", "", EventWait, Mail("thanks"), Mail("late"));
        await h.DrainAsync(Ct);
        // Under the configuration the requests see, each event names a profile nobody has; under the new one, profile n.
        static string Event(int n) => $$"""{"kind": "purchase", "email": "nobody-{{n}}@example.com", "buyer": "{{Email(n)}}"}""";

        var posts = await WhileHeldAsync(h, People, () => Enumerable.Range(1, People).Select(n => Post(h, Event(n))).ToList(), beforeReleaseAsync: async () =>
        {
            h.Advance(TimeSpan.FromSeconds(1)); // the configurations' stamp is their latest update
            var response = await h.Client.PutAsync($"/api/event-configs/{created["id"]}", new StringContent(ConfigBy("buyer"), Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });

        var answers = await Task.WhenAll(posts.Select(AcceptedAsync));
        Assert.All(answers, a => Assert.Equal((1, null), (a["routed"]!.GetValue<int>(), a["reason"]?.GetValue<string>())));
        var instances = await InstancesAsync(h, waitJourney);
        Assert.All(instances, i => Assert.Equal((InstanceStatus.Active, "thanks"), (i.Status, i.NodeId)));
        await using var db = h.App.Db();
        var stored = await db.StoredEvents.AsNoTracking().Where(e => e.Matched != "[]").ToDictionaryAsync(e => e.Id, Ct);
        for (var n = 1; n <= People; n++)
        {
            Assert.Equal(instances[n - 1].ProfileId, stored[answers[n - 1]["id"]!.GetValue<Guid>()].ProfileId);
        }
    }

    private static string ConfigBy(string identifier) => $$"""
        {"name": "purchase", "idType": "ruleBased", "condition": "kind = \"purchase\"", "namespace": "email", "profileIdentifier": "{{identifier}}"}
        """;

    [Fact]
    public async Task The_202_comes_only_after_the_commit()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        await h.ImportAsync(ProfilesNdjson(1), Ct);
        var gate = h.App.Services.GetRequiredService<WriteGate>();
        var writer = h.App.Services.GetRequiredService<EventWriter>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = gate.RunAsync(async () => { held.SetResult(); await release.Task; }, Ct);
        await held.Task;

        var post = Post(h, Purchase(1));
        await PollAsync(() => writer.Taken == 1, "the writer to take the event");
        // The writer has the event but cannot commit while the gate is held: no answer yet, nothing stored.
        Assert.False(post.IsCompleted);
        Assert.Equal(0, StoredCount(h));
        release.SetResult();
        await holding;

        var answer = await AcceptedAsync(post);
        // Read afresh on a connection of its own: what the 202 acknowledged is committed.
        await using var db = h.App.Db();
        var id = answer["id"]!.GetValue<Guid>();
        var stored = await db.StoredEvents.AsNoTracking().SingleOrDefaultAsync(e => e.Id == id, Ct);
        Assert.True(stored is not null, "the acknowledged event is not in the database");
        Assert.Equal((0, answer["reason"]!.GetValue<string>()), (stored.Routed, stored.Reason));
    }

    [Fact]
    public async Task A_poison_event_fails_alone_with_a_503_and_the_rest_of_its_batch_is_stored()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        await h.ImportAsync(ProfilesNdjson(5), Ct);
        await using (var db = h.App.Db())
        {
            await db.Database.ExecuteSqlRawAsync(db.Database.IsNpgsql() ? PostgreSqlPoisonTrigger : SqlitePoisonTrigger, Ct);
        }

        var posts = await WhileHeldAsync(h, 5, () => Enumerable.Range(1, 5).Select(n => Post(h, Purchase(n, n == 3 ? "poison" : "Shoes"))).ToList());

        var responses = await Task.WhenAll(posts);
        var problem = await responses[2].ProblemAsync(503);
        Assert.Equal("Event intake unavailable", problem.Title);
        Assert.All(responses.Where((_, i) => i != 2), r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Equal(4, StoredCount(h));

        // The writer starts afresh after the failed batch: the next event is stored as usual.
        Assert.Equal(HttpStatusCode.Accepted, (await Post(h, Purchase(5, "Boots"))).StatusCode);
        Assert.Equal(5, StoredCount(h));
    }

    [Fact]
    public async Task Stopping_stores_what_is_queued_and_refuses_new_events_with_a_503()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        await h.ImportAsync(ProfilesNdjson(3), Ct);
        var writer = h.App.Services.GetRequiredService<EventWriter>();
        Task stopping = Task.CompletedTask;

        var posts = await WhileHeldAsync(h, 3, () => Enumerable.Range(1, 3).Select(n => Post(h, Purchase(n))).ToList(),
            () => stopping = writer.StopAsync(Ct));

        await Task.WhenAll(posts.Select(AcceptedAsync));
        await stopping;
        Assert.Equal(3, StoredCount(h));
        var refused = await Post(h, Purchase(1));
        Assert.Equal("Event intake unavailable", (await refused.ProblemAsync(503)).Title);
        Assert.Equal(3, StoredCount(h));
    }

    /// <summary>Makes the insert of an event whose payload says "poison" fail, in each dialect.</summary>
    private const string SqlitePoisonTrigger = """
        CREATE TRIGGER "Poison" BEFORE INSERT ON "StoredEvents" WHEN NEW."Payload" LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poison'); END
        """;

    private const string PostgreSqlPoisonTrigger = """
        CREATE FUNCTION "Poison"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW."Payload"::text LIKE '%poison%' THEN RAISE EXCEPTION 'poison'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER "Poison" BEFORE INSERT ON "StoredEvents" FOR EACH ROW EXECUTE FUNCTION "Poison"();
        """;

    [Fact]
    public async Task An_event_is_stored_as_received_without_its_byte_order_mark_and_its_payload_reaches_the_templates()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "e", "",
            """{"id": "e", "type": "event", "event": "purchase", "next": "m"}""", Mail("m", subject: "Your {{events.purchase.product}}"));
        await h.DrainAsync(Ct);

        const string Sent = "{ \"kind\" : \"purchase\",\n  \"email\": \"p1@example.com\", \"product\": \"Caf\u00e9 \u2615\" }";
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(Sent)).ToArray();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var answer = await AcceptedAsync(h.App.Ingest().PostAsync("/api/events", content, Ct));
        Assert.Equal(1, answer["routed"]!.GetValue<int>());

        await using (var db = h.App.Db())
        {
            Assert.Equal(Sent, (await db.StoredEvents.SingleAsync(e => e.Id == Guid.Parse(answer["id"]!.GetValue<string>()), Ct)).Payload);
        }
        await h.DrainAsync(Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        Assert.Equal("Your Café ☕", mail.Message.Subject);
        Assert.Equal(InstanceStatus.Completed, (await SingleInstanceAsync(h, journey)).Status);
    }

    private const string Blocker = """{"kind": "blocker"}""";

    /// <summary>
    /// Holds the write gate while <paramref name="send"/> queues <paramref name="count"/> events, so
    /// that the writer finds them all queued at once when the gate is released: one batch. A first
    /// event that matches no configuration keeps the writer busy (waiting for the gate) meanwhile.
    /// </summary>
    private static async Task<List<Task<HttpResponseMessage>>> WhileHeldAsync(
        EngineHarness h, int count, Func<List<Task<HttpResponseMessage>>> send, Action? beforeRelease = null, Func<Task>? beforeReleaseAsync = null)
    {
        var gate = h.App.Services.GetRequiredService<WriteGate>();
        var writer = h.App.Services.GetRequiredService<EventWriter>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = gate.RunAsync(async () => { held.SetResult(); await release.Task; }, Ct);
        await held.Task;
        var blocker = Post(h, Blocker);
        await PollAsync(() => writer.Taken == 1, "the writer to take the first event");
        var posts = send();
        await PollAsync(() => writer.Queued == count, $"{count} events to be queued");
        beforeRelease?.Invoke();
        if (beforeReleaseAsync is not null)
        {
            await beforeReleaseAsync();
        }
        release.SetResult();
        await holding;
        await AcceptedAsync(blocker);
        return posts;
    }

    private static async Task PollAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(10, Ct);
        }
    }

    private static int StoredCount(EngineHarness h)
    {
        using var db = h.App.Db();
        return db.StoredEvents.Count(e => e.Matched != "[]");
    }
}
