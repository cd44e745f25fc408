using JourneyWorker.Channels.Email;
using JourneyWorker.Data;
using JourneyWorker.Runtime;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tests.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>Message-IDs: the sender's domain and a random part, drawn once per (instance, node) and kept for every retry.</summary>
public sealed class MessageIdTests
{
    [Fact]
    public async Task A_send_cut_off_before_its_commit_goes_out_again_with_the_same_Message_ID()
    {
        await using var h = await EngineHarness.StartAsync(Ct, configure: app => app.With("Email:From", "Shop <news@shop.example>"));
        var (journey, _) = await StartReadAudienceAsync(h, 1, "m", "", Mail("m"));
        var a = ConcurrentPollerTests.Worker(h, "worker-a", batchSize: 1, parallelism: 1);
        var b = ConcurrentPollerTests.Worker(h, "worker-b", batchSize: 1, parallelism: 1);
        // Worker A's message reaches the server, which keeps its 250 back: A's process is as good as dead between
        // send and commit. Its lease runs out and B takes the instance over, as after a crash.
        using var gate = new SemaphoreSlim(0);
        var received = 0;
        h.Smtp.OnReceived = async _ =>
        {
            if (Interlocked.Increment(ref received) == 1)
            {
                await gate.WaitAsync(Ct);
            }
        };
        var draining = Task.Run(() => a.DrainAsync(Ct), Ct);
        await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct);
        h.Advance(new RuntimeOptions().LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await b.DrainAsync(Ct));
        gate.Release();
        await draining;

        var mails = await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        await using var db = h.App.Db();
        var outbox = await db.OutboxMessages.SingleAsync(Ct);
        var instance = await SingleInstanceAsync(h, journey);
        Assert.Matches($@"^[a-z2-7]{{16}}\.{instance.Id}\.m@shop\.example$", outbox.MessageId);
        Assert.All(mails, m => Assert.Equal(outbox.MessageId, m.Message.MessageId));
        Assert.Equal((InstanceStatus.Completed, OutboxStatus.Sent), (instance.Status, outbox.Status));
        Assert.Single(await TraceAsync(h, instance.Id), s => s == "m:succeeded");
    }

    [Fact]
    public void Two_installations_never_give_the_same_id_and_the_domain_is_the_senders_in_ASCII()
    {
        EmailOptions From(string from, string? domain = null) => new() { From = from, MessageIdDomain = domain };
        var one = new MessageIds(Options.Create(From("Shop <news@shop.example>")));
        var other = new MessageIds(Options.Create(From("Shop <news@shop.example>")));
        var ids = Enumerable.Range(0, 1000).Select(_ => one.For(1, "m")).Append(other.For(1, "m")).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches(@"^[a-z2-7]{16}\.1\.m@shop\.example$", id));

        Assert.EndsWith(".42.first-step@mail.shop.example", new MessageIds(Options.Create(From("news@shop.example", "Mail.Shop.Example"))).For(42, "first step"), StringComparison.Ordinal);
        Assert.EndsWith("@xn--bcher-kva.example", new MessageIds(Options.Create(From("Bücher <news@bücher.example>"))).For(1, "m"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_Message_ID_domain_that_is_no_domain_stops_start_up()
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With("Email:MessageIdDomain", "not a domain"));
        Assert.Contains("Email:MessageIdDomain 'not a domain' is not a domain name", error, StringComparison.Ordinal);
    }
}

/// <summary>Bounce settings that cannot work stop start-up with the setting named.</summary>
public sealed class BounceOptionsTests
{
    [Theory]
    [InlineData("Email:Bounces:Verp", "true", "Email:Bounces:Verp needs Email:Bounces:Address")]
    [InlineData("Email:Bounces:Listen", "localhost:2525", "Email:Bounces:Listen 'localhost:2525' is not an IP address and port")]
    [InlineData("Email:Bounces:Listen", "127.0.0.1", "Email:Bounces:Listen '127.0.0.1' is not an IP address and port")]
    [InlineData("Email:Bounces:Address", "Bounces <bounces@shop.example>", "is not a plain address")]
    [InlineData("Email:Bounces:SoftLimit", "0", "Email:Bounces: The field SoftLimit must be between 1 and 1000.")]
    public void A_bad_setting_stops_start_up(string key, string value, string expected)
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With(key, value));
        Assert.True(error.Contains(expected, StringComparison.Ordinal), error);
    }

    [Fact]
    public void A_VERP_local_part_too_long_for_the_token_is_refused()
    {
        var error = StartupFailure.Of(() => new JourneyWorkerApp().With("Email:Bounces:Address", new string('b', 40) + "@shop.example").With("Email:Bounces:Verp", "true"));
        Assert.Contains("may have at most 31 characters", error, StringComparison.Ordinal);
    }
}
