using System.Text;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Tests.Reliability;

public sealed class ShutdownTests
{
    private const int People = 120;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stopping_while_draining_then_restarting_completes_every_instance_exactly_once()
    {
        var folder = Directory.CreateTempSubdirectory("journeyworker-shutdown-").FullName;
        // One database for both hosts: the second is the first one restarted.
        var database = TestDatabase.Create(folder);
        await using var smtp = await SmtpSink.StartAsync(cancellationToken: Ct);
        ReliabilityApp Host(bool background) => (ReliabilityApp)new ReliabilityApp { RealClock = true }
            .On(database)
            .With("Runtime:Enabled", background ? "true" : "false")
            .With("Runtime:PollInterval", "00:00:00.100")
            .With("Runtime:BatchSize", "10")
            .With("Runtime:Parallelism", "2")
            .With("Runtime:LeaseDuration", "00:00:05")
            .With("Email:Smtp:Host", smtp.Host)
            .With("Email:Smtp:Port", smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            int sentBeforeStop;
            await using (var first = Host(background: true))
            {
                Assert.Equal(TimeSpan.FromSeconds(30), first.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
                var ndjson = new StringBuilder();
                for (var i = 0; i < People; i++)
                {
                    ndjson.Append("{\"identities\": {\"email\": \"p" + i + "@example.com\"}, \"attributes\": {\"person\": {\"name\": {\"firstName\": \"P" + i + "\"}}, \"homeAddress\": {\"city\": \"Seattle\"}}}\n");
                }
                await first.ImportAsync(ndjson.ToString(), Ct);
                var version = await first.PublishEmailJourneyAsync(Ct);
                await first.Services.GetRequiredService<JourneyWorker.Runtime.AudienceReader>().ReadAsync(version, testOnly: false, Ct);
                await smtp.WaitForMessagesAsync(3, TimeSpan.FromSeconds(30), Ct);
                sentBeforeStop = smtp.Messages.Count;
            } // disposing stops the host as SIGTERM does, while the poller is still draining

            var stoppedAt = smtp.Messages.Count;
            await using (var second = Host(background: false))
            {
                // Claims the first host left behind are taken over once their lease runs out.
                var poller = second.Services.GetRequiredService<JourneyWorker.Runtime.InstancePoller>();
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (DateTime.UtcNow < deadline && second.Db().JourneyInstances.Any(i => i.Status != "completed"))
                {
                    await poller.DrainAsync(Ct);
                    await Task.Delay(200, Ct);
                }
                await smtp.WaitForMessagesAsync(People, TimeSpan.FromSeconds(30), Ct);
                await using var db = second.Db();
                Assert.Equal(People, db.JourneyInstances.Count(i => i.Status == "completed"));
                var duplicates = db.InstanceSteps.GroupBy(s => new { s.InstanceId, s.NodeId, s.Outcome }).Count(g => g.Count() > 1);
                Assert.Equal(0, duplicates);
            }

            var mails = smtp.Messages;
            Assert.True(stoppedAt < People, $"the first host sent all {stoppedAt} before stopping: the test did not stop it while draining");
            Assert.Equal(People, mails.Select(m => m.Message.MessageId).Distinct().Count());
            Assert.Equal(People, mails.Select(m => m.To.Single()).Distinct().Count());
            // A send cut off by the stop after the SMTP server took it is sent again, with the same Message-ID: at most one per parallel run.
            Assert.True(mails.Count <= People + 2, $"{mails.Count - People} e-mail(s) sent twice across the stop (first host had sent {sentBeforeStop} when stopping began, {stoppedAt} when it had stopped)");
        }
        finally
        {
            database.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }
}
