using JourneyWorker.Data;
using JourneyWorker.Runtime.Store;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>
/// A wait becoming visible and the event that ends it are ordered, also with several writers at once (PostgreSQL): an
/// event batch reading a profile's waits, and a runner write making that profile wait, take the same lock first, so
/// neither can miss the other's uncommitted row (the lost wake-up). Held here by a transaction of the test that read the
/// profile's waits; both the runner's write and another event batch must queue behind it.
/// </summary>
public sealed class WaitOrderingTests
{
    private static readonly string WaitForPurchase = """{"id": "e", "type": "event", "event": "purchase", "timeout": "P1D", "next": "m"}""";

    [Fact]
    public async Task A_runner_write_making_a_profile_wait_queues_behind_an_event_batch_reading_its_waits_and_the_next_event_resumes_it()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "e", "", WaitForPurchase, Mail("m"));
        var profileId = (await SingleInstanceAsync(h, journey)).ProfileId;

        var release = new TaskCompletionSource();
        var holder = await HoldWaitsAsync(h, profileId, expected: 0, release.Task);

        var drain = h.DrainAsync(Ct);
        await WaitUntilQueuedAsync(h, drain);
        Assert.False(drain.IsCompleted, "the runner committed a wait while an event batch for its profile was open");

        release.SetResult();
        await holder;
        Assert.Equal(1, await drain);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Equal((InstanceStatus.Waiting, "e"), (instance.Status, instance.NodeId));

        // The wait is visible now: the next purchase resumes it.
        Assert.Equal(1, (await EventAsync(h, "purchase", 1))["routed"]!.GetValue<int>());
        Assert.Equal(1, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
    }

    [Fact]
    public async Task An_event_for_a_profile_queues_behind_a_transaction_that_holds_its_waits_and_then_resumes_the_wait()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await EventConfigAsync(h, "purchase");
        var (journey, _) = await StartReadAudienceAsync(h, 1, "e", "", WaitForPurchase, Mail("m"));
        Assert.Equal(1, await h.DrainAsync(Ct));
        var waiting = await SingleInstanceAsync(h, journey);
        Assert.Equal(InstanceStatus.Waiting, waiting.Status);

        var release = new TaskCompletionSource();
        var holder = await HoldWaitsAsync(h, waiting.ProfileId, expected: 1, release.Task);

        var sent = EventAsync(h, "purchase", 1);
        await WaitUntilQueuedAsync(h, sent);
        Assert.False(sent.IsCompleted, "an event batch read the profile's waits while another transaction held them");

        release.SetResult();
        await holder;
        Assert.Equal(1, (await sent)["routed"]!.GetValue<int>());
    }

    /// <summary>
    /// Opens a transaction that has read the profile's waits as an event batch does and keeps it open until
    /// <paramref name="release"/>; returns its task once it holds them. On SQLite that is a store transaction (the write
    /// gate is what orders writers there); on PostgreSQL a transaction on a connection of its own, as another worker's
    /// would be, taking the store's lock for the profile and reading the waits.
    /// </summary>
    private static async Task<Task> HoldWaitsAsync(EngineHarness h, long profileId, int expected, Task release)
    {
        var holding = new TaskCompletionSource();
        var services = h.App.Services;
        Task holder;
        if (services.GetRequiredService<JourneyConnections>().DataSource is { } source)
        {
            holder = Task.Run(async () =>
            {
                await using var connection = await source.OpenConnectionAsync(Ct);
                await using var transaction = await connection.BeginTransactionAsync(Ct);
                await StoreLocks.LockAsync(transaction, services.GetRequiredService<InstanceSql>(), [profileId], [], Ct);
                await using (var command = connection.CreateCommand())
                {
                    command.Transaction = transaction;
                    command.CommandText = """SELECT count(*) FROM "JourneyInstances" WHERE "ProfileId" = @p AND "Status" = @waiting""";
                    command.Parameters.Add(new Npgsql.NpgsqlParameter("p", profileId));
                    command.Parameters.Add(new Npgsql.NpgsqlParameter("waiting", InstanceStatus.Waiting));
                    Assert.Equal(expected, Convert.ToInt32(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
                }
                holding.SetResult();
                await release.WaitAsync(Ct);
                await transaction.CommitAsync(Ct);
            }, Ct);
        }
        else
        {
            holder = services.GetRequiredService<InstanceStore>().WriteAsync(async tx =>
            {
                Assert.Equal(expected, (await tx.FindWaitingForEventsAsync([profileId], Ct)).Count);
                holding.SetResult();
                await release.WaitAsync(Ct);
                return 0;
            }, Ct);
        }
        await Task.WhenAny(holding.Task, holder);
        await (holder.IsCompleted ? holder : holding.Task);
        return holder;
    }

    /// <summary>
    /// Until <paramref name="blocked"/> waits for the held turn: on PostgreSQL an advisory lock not granted; on SQLite
    /// the write gate has a waiter.
    /// </summary>
    private static async Task WaitUntilQueuedAsync(EngineHarness h, Task blocked)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !blocked.IsCompleted)
        {
            if (TestProvider.IsPostgreSql ? await AdvisoryWaitersAsync(h) > 0 : h.App.Services.GetRequiredService<WriteGate>().Waiting > 0)
            {
                return;
            }
            await Task.Delay(20, Ct);
        }
        await blocked; // surface its failure, if it failed
        Assert.Fail("nothing queued behind the held transaction");
    }

    private static async Task<long> AdvisoryWaitersAsync(EngineHarness h)
    {
        await using var db = h.App.Db();
        return await db.Database.SqlQueryRaw<long>("""SELECT count(*) AS "Value" FROM pg_locks WHERE locktype = 'advisory' AND NOT granted""")
            .SingleAsync(Ct);
    }
}
