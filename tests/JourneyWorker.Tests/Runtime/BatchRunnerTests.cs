using System.Net;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>The batched runner: what happens between a batch's sends and its commit, and one bad instance in a batch.</summary>
public sealed class BatchRunnerTests
{
    [Fact]
    public async Task An_open_that_arrives_before_the_sending_batch_commits_is_not_missed()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var opened = 0;
        // The recipient opens the e-mail while the SMTP server is still answering the send: the
        // instance has not yet been written as waiting for the open when the open is recorded.
        h.Smtp.OnReceived = async mail =>
        {
            if (mail.Message.Subject == "First")
            {
                var response = await h.App.WithKey(null).GetAsync(EngineHarness.PixelPath(mail), Ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Interlocked.Increment(ref opened);
            }
        };
        var (journey, _) = await StartReadAudienceAsync(h, 3, "m", "",
            Mail("m", "r", subject: "First"),
            """{"id": "r", "type": "reaction", "action": "m", "reaction": "emailOpened", "timeout": "PT1H", "timeoutNext": "nudge", "next": "thanks"}""",
            Mail("thanks", subject: "Thanks"),
            Mail("nudge", subject: "Nudge"));

        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct);

        Assert.Equal(3, opened);
        Assert.Equal(3, h.Smtp.Messages.Count(m => m.Message.Subject == "Thanks"));
        Assert.DoesNotContain(h.Smtp.Messages, m => m.Message.Subject == "Nudge");
        foreach (var instance in await InstancesAsync(h, journey))
        {
            Assert.Equal(InstanceStatus.Completed, instance.Status);
            Assert.Equal(["m:entered", "m:succeeded", "r:entered", "r:succeeded", "thanks:entered", "thanks:succeeded"], (await TraceAsync(h, instance.Id))[^6..]);
        }
    }

    [Fact]
    public async Task An_instance_that_fails_unexpectedly_ends_alone_and_the_rest_of_its_batch_runs()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var (journey, _) = await StartReadAudienceAsync(h, 3, "m", "", Mail("m", subject: "Hi {{events.x}}"));
        var broken = (await InstancesAsync(h, journey))[1];
        await using (var db = h.App.Db())
        {
            // A row no code path writes (its context is not JSON): reading it fails inside the run.
            await db.JourneyInstances.Where(i => i.Id == broken.Id).ExecuteUpdateAsync(s => s.SetProperty(i => i.Context, "{not json"), Ct);
        }

        Assert.Equal(3, await h.DrainAsync(Ct));
        await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);

        var instances = await InstancesAsync(h, journey);
        Assert.Equal([InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Completed], instances.Select(i => i.Status));
        Assert.Equal("internalError", instances[1].EndReason);
        Assert.Null(instances[1].LeaseOwner);
        Assert.Equal("m:failed", (await TraceAsync(h, broken.Id))[^1]);
        Assert.Equal([Email(1), Email(3)], h.Smtp.Messages.Select(m => m.To.Single()).Order());
        Assert.Equal(0, await h.DrainAsync(Ct));
    }

    [Fact]
    public async Task A_batch_of_messages_writes_each_its_own_outbox_row_links_and_steps()
    {
        // The rows of a whole batch are written together (on PostgreSQL one statement per kind of row): each message's
        // links must land on its own outbox row, and each instance's steps and state on its own instance.
        await using var h = await EngineHarness.StartAsync(Ct);
        var mail = new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = "m", ["type"] = "email", ["subject"] = "Hi",
            ["html"] = """<p><a href="https://shop.example.com/a/{{profile.id}}">a</a> <a href="https://shop.example.com/b/{{profile.id}}">b</a></p>""",
        }.ToJsonString();
        var (journey, _) = await StartReadAudienceAsync(h, 6, "m", "", mail);

        await h.DrainAsync(Ct);
        await h.Smtp.WaitForMessagesAsync(6, cancellationToken: Ct);

        var instances = await InstancesAsync(h, journey);
        Assert.Equal(6, instances.Count);
        await using var db = h.App.Db();
        var outbox = await db.OutboxMessages.Where(o => o.Status == OutboxStatus.Sent).ToListAsync(Ct);
        Assert.Equal(instances.Select(i => (i.Id, i.ProfileId)).Order(), outbox.Select(o => (o.InstanceId, o.ProfileId)).Order());
        var links = await db.TrackedLinks.ToListAsync(Ct);
        foreach (var message in outbox)
        {
            Assert.Equal(
                [(0, $"https://shop.example.com/a/{message.ProfileId}"), (1, $"https://shop.example.com/b/{message.ProfileId}")],
                links.Where(l => l.OutboxMessageId == message.Id).OrderBy(l => l.Index).Select(l => (l.Index, l.Url)));
            var sent = Assert.Single(h.Smtp.Messages, m => m.Message.MessageId == message.MessageId);
            var address = await db.ProfileIdentities.Where(i => i.ProfileId == message.ProfileId && i.Namespace == "email").Select(i => i.Value).SingleAsync(Ct);
            Assert.Equal(address, sent.To.Single());
        }
        foreach (var instance in instances)
        {
            Assert.Equal(InstanceStatus.Completed, instance.Status);
            Assert.Null(instance.LeaseOwner);
            Assert.Equal(["m:entered", "m:succeeded"], (await TraceAsync(h, instance.Id))[^2..]);
        }
    }

    [Fact]
    public async Task On_PostgreSQL_outbox_pages_keep_room_for_the_update_that_marks_a_message_sent()
    {
        if (!TestProvider.IsPostgreSql)
        {
            Assert.Skip("PostgreSQL only: a storage parameter of its tables");
        }
        await using var h = await EngineHarness.StartAsync(Ct);
        await using var db = h.App.Db();
        var options = await db.Database.SqlQueryRaw<string>(
            """SELECT array_to_string(reloptions, ',') AS "Value" FROM pg_class WHERE relname = 'OutboxMessages'""").SingleAsync(Ct);
        // Without it the update after each send is not heap-only: a new entry in each of the outbox's four indexes.
        Assert.Contains("fillfactor=50", options, StringComparison.Ordinal);
    }
}
