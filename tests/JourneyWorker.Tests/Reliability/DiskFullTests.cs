using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Reliability;

/// <summary>
/// Faults survived: the disk under the SQLite database fills up (a real 8 MiB tmpfs filled with a file). Intake answers
/// 503 with Retry-After and other writes 503, never 500; every event acknowledged with a 202 is stored; once the file is
/// deleted, intake and the background runner resume on their own and each profile gets its message. A disk that fills
/// between a send and the write recording it costs what a crash there costs: that message once more, same Message-ID,
/// after the lease. SQLite only: the
/// database file must sit on the small file system (a PostgreSQL server's disk is the server's to watch).
/// </summary>
public sealed class DiskFullTests
{
    private const int Before = 5;
    private const int Total = 20;

    [Fact]
    public async Task Disk_full_answers_503_with_Retry_After_loses_nothing_acknowledged_and_work_resumes_once_space_is_back()
    {
        TestProvider.SqliteOnly("the database file is put on a small file system");
        using var disk = SmallDisk.Mount(8);
        var database = TestDatabase.CreateSqlite(disk.Path);
        try
        {
            await using var h = await EngineHarness.StartAsync(Ct, background: true,
                configure: app => app.On(database).With("Storage:BusyTimeout", "00:00:01"));
            await EventConfigAsync(h, "purchase");
            await PublishAsync(h, Journey("s", "", """{"id": "s", "type": "event", "event": "purchase", "next": "m"}""", Mail("m", subject: "Thanks")));
            await h.ImportAsync(ProfilesNdjson(Total), Ct);
            var acknowledged = new Dictionary<int, Guid>();
            for (var n = 1; n <= Before; n++)
            {
                acknowledged[n] = await AcceptedIdAsync(await IngestAsync(h, n));
            }
            await RunClockUntilAsync(h, () => h.Smtp.Messages.Count >= Before);

            // Full: the WAL is checkpointed down to nothing (so that any commit must grow a file), then a file takes the rest.
            Checkpoint(h);
            disk.Fill();
            var refused = new List<int>();
            var clock = Stopwatch.StartNew();
            for (var n = Before + 1; n <= Total; n++)
            {
                var response = await IngestAsync(h, n);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    acknowledged[n] = await AcceptedIdAsync(response);
                    continue;
                }
                Assert.Equal("Event intake unavailable", (await response.ProblemAsync(503)).Title);
                Assert.Equal("1", response.Headers.RetryAfter?.ToString());
                refused.Add(n);
            }
            var answeredIn = clock.Elapsed;
            Assert.True(refused.Count > 0, "the full disk refused no event");
            var profile = await h.Client.PutAsync("/api/profiles/email/late@example.com", new StringContent("""{"attributes": {"n": 99}}""", Encoding.UTF8, "application/json"), Ct);
            Assert.Equal("Database unavailable", (await profile.ProblemAsync(503)).Title);
            // The runner keeps polling against the full disk meanwhile (its failures are logged, not fatal).
            for (var i = 0; i < 20; i++)
            {
                h.Advance(TimeSpan.FromMilliseconds(100));
                await Task.Delay(10, Ct);
            }
            Assert.Equal(Before + (Total - Before - refused.Count), await StoredAsync(h));

            // Space is back: the senders retry with the same Idempotency-Key and are taken at once; the runner catches up.
            disk.Free();
            var recovery = Stopwatch.StartNew();
            foreach (var n in refused)
            {
                acknowledged[n] = await AcceptedIdAsync(await IngestAsync(h, n));
            }
            await RunClockUntilAsync(h, () => h.Smtp.Messages.Count >= Total);
            var recoveredIn = recovery.Elapsed;
            TestContext.Current.TestOutputHelper?.WriteLine($"disk full: {refused.Count} of {Total - Before} events refused in {answeredIn.TotalMilliseconds:F0} ms; recovered in {recoveredIn.TotalMilliseconds:F0} ms");

            // Nothing acknowledged is lost, nothing is stored or sent twice.
            await using (var db = h.App.Db())
            {
                var stored = await db.StoredEvents.AsNoTracking().Select(e => e.Id).ToListAsync(Ct);
                Assert.Equal(acknowledged.Values.Order(), stored.Order());
            }
            var mails = h.Smtp.Messages;
            Assert.Equal(Total, mails.Count);
            Assert.Equal(Enumerable.Range(1, Total).Select(Email).Order(StringComparer.Ordinal), mails.Select(m => m.To.Single()).Order(StringComparer.Ordinal));
            Assert.Equal(Total, mails.Select(m => m.Message.MessageId).Distinct().Count());
            Assert.Equal(HttpStatusCode.OK, (await h.Client.PutAsync("/api/profiles/email/late@example.com", new StringContent("""{"attributes": {"n": 99}}""", Encoding.UTF8, "application/json"), Ct)).StatusCode);
        }
        finally
        {
            database.Dispose();
        }
    }

    [Fact]
    public async Task Disk_full_between_a_send_and_its_commit_sends_that_message_again_once_with_the_same_Message_ID_after_the_lease()
    {
        TestProvider.SqliteOnly("the database file is put on a small file system");
        using var disk = SmallDisk.Mount(8);
        var database = TestDatabase.CreateSqlite(disk.Path);
        try
        {
            await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.On(database).With("Storage:BusyTimeout", "00:00:01"));
            await EventConfigAsync(h, "purchase");
            await PublishAsync(h, Journey("s", "", """{"id": "s", "type": "event", "event": "purchase", "next": "m"}""", Mail("m", "w", subject: "Thanks"),
                """{"id": "w", "type": "wait", "duration": "PT1H", "next": "m2"}""", Mail("m2", subject: "Later")));
            await h.ImportAsync(ProfilesNdjson(3), Ct);
            for (var n = 1; n <= 3; n++)
            {
                await AcceptedIdAsync(await IngestAsync(h, n));
            }
            var filled = 0;
            h.Smtp.OnReceived = _ =>
            {
                if (Interlocked.Exchange(ref filled, 1) == 0)
                {
                    Checkpoint(h);
                    disk.Fill();
                }
                return Task.CompletedTask;
            };
            // The three messages of the round leave (the disk fills as the first arrives), then the write that records
            // them fails: the batch ends with the database error, which the Quartz job logs.
            var failure = await Assert.ThrowsAsync<SqliteException>(() => h.DrainAsync(Ct));
            Assert.Equal(SQLitePCL.raw.SQLITE_FULL, failure.SqliteErrorCode);
            Assert.Equal(3, h.Smtp.Messages.Count);
            disk.Free();
            h.Smtp.OnReceived = null;

            // The claims stand until their lease ends (another worker could hold them); then the sends whose outcome was
            // not written go out again, once, with the same Message-ID, and the journeys go on.
            Assert.Equal(0, await h.DrainAsync(Ct));
            h.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
            Assert.Equal(3, await h.DrainAsync(Ct));
            h.Advance(TimeSpan.FromHours(1));
            Assert.Equal(3, await h.DrainAsync(Ct));
            var mails = h.Smtp.Messages;
            foreach (var n in Enumerable.Range(1, 3))
            {
                var theirs = mails.Where(m => m.To.Single() == Email(n)).ToList();
                Assert.Equal(["Later", "Thanks", "Thanks"], theirs.Select(m => m.Message.Subject).Order(StringComparer.Ordinal));
                Assert.Single(theirs.Where(m => m.Message.Subject == "Thanks").Select(m => m.Message.MessageId).Distinct());
            }
            await using var db = h.App.Db();
            Assert.All(await db.OutboxMessages.AsNoTracking().ToListAsync(Ct), m => Assert.Equal(OutboxStatus.Sent, m.Status));
            Assert.All(await db.JourneyInstances.AsNoTracking().ToListAsync(Ct), i => Assert.Equal(InstanceStatus.Completed, i.Status));
        }
        finally
        {
            database.Dispose();
        }
    }

    private static Task<HttpResponseMessage> IngestAsync(EngineHarness h, int n)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent($$"""{"kind": "purchase", "email": "{{Email(n)}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", $"order-{n}");
        return h.App.Ingest().SendAsync(request, Ct);
    }

    private static async Task<Guid> AcceptedIdAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["id"]!.GetValue<Guid>();
    }

    private static async Task<int> StoredAsync(EngineHarness h)
    {
        await using var db = h.App.Db();
        return await db.StoredEvents.CountAsync(Ct);
    }

    private static void Checkpoint(EngineHarness h)
    {
        var file = new SqliteConnectionStringBuilder(h.App.Services.GetRequiredService<JourneyWorker.Data.JourneyConnections>().ConnectionString).DataSource;
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false, DefaultTimeout = 5 }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        using var result = command.ExecuteReader();
        // (busy, WAL frames, frames checkpointed): busy 1 would leave WAL space that later commits could reuse.
        Assert.True(result.Read() && result.GetInt64(0) == 0, "the WAL could not be truncated");
    }

    /// <summary>Lets the fake clock run (the host's Quartz poller follows it) until the condition holds or 30 s of real time pass.</summary>
    private static async Task RunClockUntilAsync(EngineHarness h, Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not done within 30 s: {h.Smtp.Messages.Count} messages");
            h.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20, Ct);
        }
    }
}
