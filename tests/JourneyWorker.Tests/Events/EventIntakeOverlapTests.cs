using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static JourneyWorker.Tests.Events.IntakeRequests;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Events;

/// <summary>
/// On PostgreSQL the intake writer starts the next batch while the last one's COMMIT is in flight. The tests hold a
/// COMMIT with a deferred trigger that waits for an advisory lock the test holds (or fail it), so that "in flight" lasts
/// as long as the test needs.
/// </summary>
public sealed class EventIntakeOverlapTests
{
    private const int HoldClass = 4242;

    [Fact]
    public async Task Another_profile_s_batch_is_stored_and_answered_while_a_commit_is_in_flight()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var h = await StartAsync(pg, profiles: 2);
        await using var hold = await HoldCommitsAsync(pg);

        var held = Post(h, Purchase(1, "held"));
        await PollAsync(pg, waiting: 1, "the first batch's COMMIT to wait for the test's lock");

        // A writer that ran its batches in series would answer this one only after the held commit.
        var other = await AcceptedAsync(Post(h, Purchase(2)));
        Assert.False(held.IsCompleted, "the held batch was answered before its commit");
        Assert.Equal(1, StoredCount(h));

        await hold.DisposeAsync();
        var first = await AcceptedAsync(held);
        Assert.NotEqual(first["id"]!.GetValue<Guid>(), other["id"]!.GetValue<Guid>());
        Assert.Equal(2, StoredCount(h));
    }

    /// <summary>
    /// A batch takes its profiles' locks before it reads their waits: a batch with a profile of the batch still committing
    /// waits for that commit. Here it also repeats its idempotency key, and answers what the first (now committed) answered.
    /// </summary>
    [Fact]
    public async Task A_batch_of_a_profile_whose_commit_is_in_flight_waits_for_it_and_a_repeated_key_answers_as_the_first()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var h = await StartAsync(pg, profiles: 1);
        await using var hold = await HoldCommitsAsync(pg);

        var first = Post(h, Purchase(1, "held"), "order-9");
        await PollAsync(pg, waiting: 1, "the first batch's COMMIT to wait for the test's lock");
        var repeat = Post(h, Purchase(1), "order-9");
        // The second batch waits for the profile's lock, held by the first until its commit ends.
        await PollAsync(pg, waiting: 2, "the second batch to wait for the profile's lock");
        Assert.False(repeat.IsCompleted || first.IsCompleted, "a batch was answered before the held commit ended");

        await hold.DisposeAsync();
        var answers = await Task.WhenAll(AcceptedAsync(first), AcceptedAsync(repeat));
        Assert.Equal(answers[0].ToJsonString(), answers[1].ToJsonString());
        Assert.Equal(1, StoredCount(h));
    }

    [Fact]
    public async Task A_commit_that_fails_in_flight_answers_its_batch_with_a_503_and_the_writer_goes_on()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var h = await StartAsync(pg, profiles: 2);
        await using (var db = h.App.Db())
        {
            await db.Database.ExecuteSqlRawAsync(DeferredTrigger("IF NEW.\"Payload\"::text LIKE '%failing%' THEN RAISE EXCEPTION 'failing'; END IF;"), Ct);
        }

        var failed = await Post(h, Purchase(1, "failing"));
        Assert.Equal("Event intake unavailable", (await failed.ProblemAsync(503)).Title);
        Assert.Equal(0, StoredCount(h));

        await Task.WhenAll(Enumerable.Range(1, 4).Select(n => AcceptedAsync(Post(h, Purchase(n % 2 + 1)))));
        Assert.Equal(4, StoredCount(h));
    }

    private static async Task<EngineHarness> StartAsync(PostgreSqlDatabase pg, int profiles)
    {
        var h = await EngineHarness.StartAsync(Ct, configure: app => app
            .With("Storage:Provider", "PostgreSql").With("ConnectionStrings:Journeys", pg.ConnectionString));
        await EventConfigAsync(h, "purchase");
        await h.ImportAsync(ProfilesNdjson(profiles), Ct);
        Assert.True(h.App.Services.GetRequiredService<InstanceStore>().OverlapsCommits, "the store does not overlap commits on PostgreSQL");
        return h;
    }

    /// <summary>Holds the COMMIT of every transaction that stores a "held" event until the returned connection is disposed.</summary>
    private static async Task<NpgsqlConnection> HoldCommitsAsync(PostgreSqlDatabase pg)
    {
        // Not pooled: a pooled connection would keep its session, and the session's lock, when disposed.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = DeferredTrigger($"IF NEW.\"Payload\"::text LIKE '%held%' THEN PERFORM pg_advisory_xact_lock_shared({HoldClass}, 1); END IF;")
                + $"; SELECT pg_advisory_lock({HoldClass}, 1)";
            await command.ExecuteNonQueryAsync(Ct);
        }
        return connection;
    }

    /// <summary>A constraint trigger on each stored event that runs <paramref name="body"/> at COMMIT.</summary>
    private static string DeferredTrigger(string body) => $$"""
        CREATE FUNCTION "AtCommit"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {{body}}
            RETURN NEW;
        END $$;
        CREATE CONSTRAINT TRIGGER "AtCommit" AFTER INSERT ON "StoredEvents" DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION "AtCommit"()
        """;

    /// <summary>Waits until <paramref name="waiting"/> advisory locks of the database's sessions are waited for.</summary>
    private static async Task PollAsync(PostgreSqlDatabase pg, int waiting, string what)
    {
        await using var connection = new NpgsqlConnection(pg.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((long)(await command.ExecuteScalarAsync(Ct))! < waiting)
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
