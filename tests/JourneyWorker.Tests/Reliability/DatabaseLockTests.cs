using System.Diagnostics;
using System.Net;
using System.Text;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Reliability;

/// <summary>
/// Faults survived: the SQLite file locked from outside the service. A writer holding the write lock (BEGIN IMMEDIATE:
/// a script, a migration tool, a restore) longer than Storage:BusyTimeout makes writes answer 503 with Retry-After,
/// never 500, and they succeed once it lets go; a lock shorter than the busy timeout is waited out. A long reader (what a
/// backup holds while it copies) blocks nothing in WAL mode. On PostgreSQL, a table lock held past the command timeout
/// does the same: 503, then success.
/// </summary>
public sealed class DatabaseLockTests
{
    private const string BusyTimeout = "00:00:01";

    [Fact]
    public async Task An_external_writer_holding_the_lock_past_the_busy_timeout_gets_503_with_Retry_After_then_everything_succeeds()
    {
        TestProvider.SqliteOnly("the lock is SQLite's file lock");
        await using var h = await StartAsync();
        await EventConfigAsync(h, "purchase");
        await PublishAsync(h, Journey("s", "", """{"id": "s", "type": "event", "event": "purchase", "next": "m"}""", Mail("m", subject: "Thanks")));
        await h.ImportAsync(ProfilesNdjson(2), Ct);

        await using (var holder = await LockAsync(h, "BEGIN IMMEDIATE;"))
        {
            var clock = Stopwatch.StartNew();
            var intake = await IngestAsync(h, 1, "order-1");
            Assert.Equal("1", intake.Headers.RetryAfter?.ToString());
            Assert.Equal("Event intake unavailable", (await intake.ProblemAsync(503)).Title);

            var profile = await h.Client.PutAsync("/api/profiles/email/late@example.com", Json("""{"attributes": {"n": 9}}"""), Ct);
            Assert.Equal("1", profile.Headers.RetryAfter?.ToString());
            Assert.Equal("Database unavailable", (await profile.ProblemAsync(503)).Title);

            var audience = await h.Client.PostAsync("/api/audiences", Json("""{"name": "late", "rule": "n > 0"}"""), Ct);
            await audience.ProblemAsync(503);
            // Each waited for the busy timeout (1 s), not for the lock to go.
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(30));

            // Reads go on under the lock (WAL).
            Assert.Equal(HttpStatusCode.OK, (await h.Client.GetAsync("/api/profiles/email/p1@example.com", Ct)).StatusCode);
        }

        // Released: the same requests (the event with its Idempotency-Key) succeed, and the journey runs once.
        Assert.Equal(HttpStatusCode.Accepted, (await IngestAsync(h, 1, "order-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Client.PutAsync("/api/profiles/email/late@example.com", Json("""{"attributes": {"n": 9}}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await h.Client.PostAsync("/api/audiences", Json("""{"name": "late", "rule": "n > 0"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await IngestAsync(h, 1, "order-1")).StatusCode); // a repeat: not processed twice
        Assert.Equal(1, await h.DrainAsync(Ct));
        Assert.Equal(Email(1), Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).To.Single());
    }

    [Fact]
    public async Task A_lock_shorter_than_the_busy_timeout_is_waited_out_and_a_long_reader_blocks_nothing()
    {
        TestProvider.SqliteOnly("the lock is SQLite's file lock");
        await using var h = await StartAsync();
        await EventConfigAsync(h, "purchase");
        await PublishAsync(h, Journey("s", "", """{"id": "s", "type": "event", "event": "purchase", "next": "m"}""", Mail("m", subject: "Thanks")));
        await h.ImportAsync(ProfilesNdjson(3), Ct);

        // A writer that lets go after 300 ms: the request waits for it (within the 1 s busy timeout) and succeeds.
        var holder = await LockAsync(h, "BEGIN IMMEDIATE;");
        var clock = Stopwatch.StartNew();
        var waiting = IngestAsync(h, 1, "short-lock");
        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        await holder.DisposeAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await waiting).StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"answered in {clock.Elapsed} under the lock");

        // A long reader, as a backup holds its snapshot while it copies: writes, intake and sends all go on meanwhile.
        await using (var reader = await LockAsync(h, "BEGIN; SELECT count(*) FROM Profiles;"))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await IngestAsync(h, 2, "under-backup")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await h.Client.PutAsync("/api/profiles/email/p3@example.com", Json("""{"attributes": {"n": 3, "x": 1}}"""), Ct)).StatusCode);
            Assert.Equal(2, await h.DrainAsync(Ct));
            Assert.Equal(2, (await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct)).Count);
        }
    }

    [Fact]
    public async Task On_PostgreSQL_a_table_lock_past_the_command_timeout_gets_503_with_Retry_After_then_everything_succeeds()
    {
        if (!TestProvider.IsPostgreSql)
        {
            Assert.Skip("PostgreSQL only: the lock is a PostgreSQL table lock (the SQLite pass runs the file-lock tests above)");
        }
        using var database = TestDatabase.Create(Path.GetTempPath());
        var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(database.HostSettings["ConnectionStrings:Journeys"]) { CommandTimeout = 2 }.ConnectionString;
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.On(database).With("ConnectionStrings:Journeys", connectionString));
        await EventConfigAsync(h, "purchase");
        await PublishAsync(h, Journey("s", "", """{"id": "s", "type": "event", "event": "purchase", "next": "m"}""", Mail("m", subject: "Thanks")));
        await h.ImportAsync(ProfilesNdjson(2), Ct);

        // Another session (a maintenance script, a long migration) locks the tables against writes and keeps them.
        await using (var holder = new Npgsql.NpgsqlConnection(connectionString))
        {
            await holder.OpenAsync(Ct);
            await using var transaction = await holder.BeginTransactionAsync(Ct);
            await using (var command = new Npgsql.NpgsqlCommand("""LOCK TABLE "StoredEvents", "Profiles" IN EXCLUSIVE MODE""", holder, transaction))
            {
                await command.ExecuteNonQueryAsync(Ct);
            }
            var intake = await IngestAsync(h, 1, "order-1");
            Assert.Equal("1", intake.Headers.RetryAfter?.ToString());
            Assert.Equal("Event intake unavailable", (await intake.ProblemAsync(503)).Title);
            var profile = await h.Client.PutAsync("/api/profiles/email/late@example.com", Json("""{"attributes": {"n": 9}}"""), Ct);
            Assert.Equal("1", profile.Headers.RetryAfter?.ToString());
            Assert.Equal("Database unavailable", (await profile.ProblemAsync(503)).Title);
            Assert.Equal(HttpStatusCode.OK, (await h.Client.GetAsync("/api/profiles/email/p1@example.com", Ct)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await IngestAsync(h, 1, "order-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Client.PutAsync("/api/profiles/email/late@example.com", Json("""{"attributes": {"n": 9}}"""), Ct)).StatusCode);
        Assert.Equal(1, await h.DrainAsync(Ct));
        Assert.Equal(Email(1), Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct)).To.Single());
    }

    private static Task<EngineHarness> StartAsync() =>
        EngineHarness.StartAsync(Ct, configure: app => app.With("Storage:BusyTimeout", BusyTimeout));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> IngestAsync(EngineHarness h, int n, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = Json($$"""{"kind": "purchase", "email": "{{Email(n)}}"}""") };
        request.Headers.Add("Idempotency-Key", key);
        return h.App.Ingest().SendAsync(request, Ct);
    }

    /// <summary>Another process's connection on the service's file (no pooling: its lock goes with it), in a transaction begun by <paramref name="begin"/>.</summary>
    private static async Task<SqliteConnection> LockAsync(EngineHarness h, string begin)
    {
        var file = new SqliteConnectionStringBuilder(h.App.Services.GetRequiredService<JourneyConnections>().ConnectionString).DataSource;
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, DefaultTimeout = 1 }.ToString());
        await connection.OpenAsync(Ct);
        await using var command = connection.CreateCommand();
        command.CommandText = begin;
        await command.ExecuteNonQueryAsync(Ct);
        return connection;
    }
}
