using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Testing;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Reliability;

/// <summary>The multi-process tests run alone: three services, PostgreSQL and the load would skew every test beside them.</summary>
[CollectionDefinition(nameof(ClusterCollection), DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>
/// Several real JourneyWorker processes (the built service, started with <c>dotnet JourneyWorker.dll</c>) on one
/// PostgreSQL database, e-mail going to an SMTP counter on loopback. Needs JOURNEYWORKER_TEST_POSTGRES (see
/// <see cref="PostgreSqlDatabase"/>); skipped without it.
/// </summary>
[Collection(nameof(ClusterCollection))]
public sealed class ClusterTests
{
    private const int People = 100_000;
    private const int Tickers = 10;
    private const string Purchase = """{"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail", "fields": []}""";
    private static readonly string[] EventPath = ["first:entered", "first:succeeded", "wait:entered", "wait:succeeded", "thanks:entered", "thanks:succeeded"];
    private static readonly string[] TimeoutPath = ["first:entered", "first:succeeded", "wait:entered", "wait:timedOut", "followUp:entered", "followUp:succeeded"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Say(string line)
    {
        var stamped = $"[{DateTime.UtcNow:HH:mm:ss.fff}] {line}";
        TestContext.Current.TestOutputHelper?.WriteLine(stamped);
        Console.Error.WriteLine(stamped);
    }

    /// <summary>
    /// 100,000 profiles imported through one worker, a live Read Audience journey (e-mail, a wait for a purchase with a
    /// timeout, a second e-mail on either path), purchases posted to all three workers round-robin, a Read Audience every
    /// 5 s on a second journey, and one worker SIGKILLed mid-batch. Every instance takes one of the two paths with each
    /// step once; every expected e-mail arrives, and only the killed worker's claims are sent twice (same Message-ID);
    /// its claims are taken over once their lease ends; every acknowledged event is stored; each occurrence of the
    /// schedule is read once across the processes.
    /// </summary>
    [Fact]
    public async Task Three_workers_run_100000_instances_each_step_once_share_the_work_and_take_over_a_killed_workers_claims()
    {
        var total = Stopwatch.StartNew();
        var deadline = DateTime.UtcNow.AddMinutes(12);
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var smtp = new SmtpCounter();
        await using var cluster = await WorkerCluster.StartAsync(pg.ConnectionString, smtp, 3, null, Ct);
        var started = total.Elapsed;
        Say($"3 workers ready in {started.TotalSeconds:F1} s");
        var admin = Enumerable.Range(0, 3).Select(i => cluster.Client(i)).ToArray();
        var ingest = Enumerable.Range(0, 3).Select(i => cluster.Client(i, ingest: true)).ToArray();

        await WorkerCluster.PostAsync(admin[0], "/api/event-configs", Purchase, Ct);
        var seattle = await AudienceAsync(admin[0], "homeAddress.city = \"Seattle\"");
        var tick = await AudienceAsync(admin[1], "homeAddress.city = \"Tick\"");
        var main = Id(await WorkerCluster.PostAsync(admin[0], "/api/journeys", $$"""
            {"name": "Cluster", "start": "read", "nodes": [
              {"id": "read", "type": "readAudience", "audience": "{{seattle}}", "schedule": {"frequency": "once"}, "next": "first"},
              {"id": "first", "type": "email", "subject": "Hello", "html": "<p>Hello</p>", "next": "wait"},
              {"id": "wait", "type": "event", "event": "purchase", "timeout": "PT15S", "timeoutNext": "followUp", "next": "thanks"},
              {"id": "thanks", "type": "email", "subject": "Thank you", "html": "<p>Thank you</p>"},
              {"id": "followUp", "type": "email", "subject": "Still thinking?", "html": "<p>Still thinking?</p>"}]}
            """, Ct));
        var ticks = Id(await WorkerCluster.PostAsync(admin[1], "/api/journeys", $$"""
            {"name": "Ticks", "start": "read", "reentrance": {"allowed": true}, "nodes": [
              {"id": "read", "type": "readAudience", "audience": "{{tick}}", "schedule": {"frequency": "cron", "cron": "0/5 * * * * ?"}, "next": "tick"},
              {"id": "tick", "type": "email", "subject": "Tick", "html": "<p>Tick</p>"}]}
            """, Ct));

        // The schedule: published through worker 2, read by whichever worker's clustered scheduler takes each occurrence.
        var ticksPublishing = DateTimeOffset.UtcNow;
        await WorkerCluster.PostAsync(admin[1], $"/api/journeys/{ticks}/publish", "{}", Ct);
        var ticksPublished = DateTimeOffset.UtcNow;
        var tickVersion = await cluster.ScalarAsync<Guid>("""SELECT "Id" FROM "JourneyVersions" WHERE "JourneyId" = @j AND "Status" = 'live'""", Ct, ("j", ticks));

        // 100,000 profiles (and the ten of the schedule) through worker 1's import route, in four concurrent requests.
        var import = Stopwatch.StartNew();
        var parts = Enumerable.Range(0, 4).Select(part =>
        {
            var ndjson = new StringBuilder();
            for (var n = part; n < People; n += 4)
            {
                ndjson.Append(Profile($"p{n}@example.com", "Seattle"));
            }
            for (var n = part; n < Tickers; n += 4)
            {
                ndjson.Append(Profile($"t{n}@example.com", "Tick"));
            }
            return ndjson.ToString();
        }).ToList();
        var imported = (await Task.WhenAll(parts.Select(p => WorkerCluster.ImportAsync(admin[0], p, Ct)))).Sum();
        Assert.Equal(People + Tickers, imported);
        var importTime = import.Elapsed;
        Say($"imported {imported} profiles in {importTime.TotalSeconds:F1} s ({imported / importTime.TotalSeconds:F0}/s)");

        // The audience journey goes live through worker 3; its once-read runs on whichever worker takes it.
        var run = Stopwatch.StartNew();
        await WorkerCluster.PostAsync(admin[2], $"/api/journeys/{main}/publish", "{}", Ct);

        var acknowledged = new ConcurrentDictionary<Guid, int>();
        var retried = 0;
        var unacknowledged = 0;
        var dead = new bool[3];
        var turn = -1;
        async Task SendEventAsync(string email, CancellationToken cancellationToken)
        {
            // Round-robin over the live workers; a failed request goes to the next one with the same Idempotency-Key.
            var key = Guid.NewGuid().ToString();
            var body = $$"""{"purchaseMessage": "thank you", "customerEmail": "{{email}}"}""";
            for (var attempt = 0; attempt < 6; attempt++)
            {
                var worker = (int)((uint)Interlocked.Increment(ref turn) % 3);
                if (Volatile.Read(ref dead[worker]))
                {
                    continue;
                }
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                    request.Headers.Add("Idempotency-Key", key);
                    using var response = await ingest[worker].SendAsync(request, cancellationToken);
                    if ((int)response.StatusCode == 202)
                    {
                        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!;
                        acknowledged[Guid.Parse(answer["id"]!.GetValue<string>())] = answer["routed"]!.GetValue<int>();
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                Interlocked.Increment(ref retried);
            }
            Interlocked.Increment(ref unacknowledged);
        }

        // Purchases for every third profile seen waiting, while there is still time before its timeout.
        using var stopDriving = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var given = new HashSet<long>();
        var driver = Task.Run(async () =>
        {
            while (!stopDriving.IsCancellationRequested)
            {
                var soon = DateTimeOffset.UtcNow.AddSeconds(3).ToUnixTimeMilliseconds();
                var waiting = await cluster.RowsAsync("""
                    SELECT i."ProfileId", p."Value" FROM "JourneyInstances" i
                    JOIN "ProfileIdentities" p ON p."ProfileId" = i."ProfileId" AND p."Namespace" = 'email'
                    WHERE i."JourneyId" = @j AND i."Status" = 'waiting' AND i."WaitingFor" = 'event:purchase' AND i."DueAt" > @soon
                    ORDER BY i."DueAt" DESC LIMIT 2000
                    """, stopDriving.Token, ("j", main), ("soon", soon));
                var fresh = waiting.Where(r => (long)r[0] % 3 == 0 && given.Add((long)r[0])).Select(r => (string)r[1]).ToList();
                if (fresh.Count == 0)
                {
                    await Task.Delay(200, stopDriving.Token);
                    continue;
                }
                await Parallel.ForEachAsync(fresh, new ParallelOptions { MaxDegreeOfParallelism = 12, CancellationToken = stopDriving.Token },
                    async (email, ct) => await SendEventAsync(email, ct));
            }
        }, stopDriving.Token);

        // Who holds leases, sampled: the work is spread, and the victim is chosen while it holds some.
        var seenLeasing = new ConcurrentDictionary<string, int>();
        var maxLeases = new ConcurrentDictionary<string, long>();
        async Task<Dictionary<string, long>> LeasesAsync()
        {
            var rows = await cluster.RowsAsync("""
                SELECT "LeaseOwner", count(*) FROM "JourneyInstances"
                WHERE "LeaseOwner" IS NOT NULL AND "Status" IN ('active', 'waiting') GROUP BY "LeaseOwner"
                """, Ct);
            var leases = rows.ToDictionary(r => (string)r[0], r => (long)r[1]);
            foreach (var (owner, count) in leases)
            {
                seenLeasing.AddOrUpdate(owner, 1, (_, c) => c + 1);
                maxLeases.AddOrUpdate(owner, count, (_, c) => Math.Max(c, count));
            }
            return leases;
        }
        async Task<long> RunningAsync(Guid journey) => await cluster.ScalarAsync<long>(
            """SELECT count(*) FROM "JourneyInstances" WHERE "JourneyId" = @j AND "Status" IN ('active', 'waiting')""", Ct, ("j", journey));

        // The once-read admits everyone; then a third of the first e-mails go out before the kill.
        var admittedIn = TimeSpan.Zero;
        var lastSay = TimeSpan.Zero;
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no kill point reached: {smtp.Total} e-mails");
            await LeasesAsync();
            if (admittedIn == TimeSpan.Zero && await cluster.ScalarAsync<long>(
                """SELECT count(*) FROM "JourneyVersions" WHERE "JourneyId" = @j AND "AudienceReadAt" IS NOT NULL""", Ct, ("j", main)) == 1)
            {
                admittedIn = run.Elapsed;
                Say($"Read Audience admitted {await cluster.ScalarAsync<long>("""SELECT count(*) FROM "JourneyInstances" WHERE "JourneyId" = @j""", Ct, ("j", main))} in {admittedIn.TotalSeconds:F1} s");
            }
            if (admittedIn > TimeSpan.Zero && smtp.Total >= People / 3)
            {
                break;
            }
            if (run.Elapsed - lastSay > TimeSpan.FromSeconds(5))
            {
                lastSay = run.Elapsed;
                Say($"{run.Elapsed.TotalSeconds:F0} s: {smtp.Total} e-mails, {acknowledged.Count} events acknowledged");
            }
            await Task.Delay(1000, Ct);
        }

        // SIGKILL the worker that holds the most live leases right now: it is in the middle of a batch.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var holding = await cluster.RowsAsync("""
            SELECT "LeaseOwner", count(*) FROM "JourneyInstances"
            WHERE "LeaseOwner" IS NOT NULL AND "LeaseUntil" > @now AND "Status" IN ('active', 'waiting')
            GROUP BY "LeaseOwner" ORDER BY count(*) DESC
            """, Ct, ("now", now));
        Assert.NotEmpty(holding);
        var victimName = (string)holding[0][0];
        var victimIndex = cluster.Workers.ToList().FindIndex(w => w.Name == victimName);
        var victim = cluster.Workers[victimIndex];
        var victimSends = await WorkerCluster.MetricAsync(victim, "journeyworker_sends_total", "outcome=\"sent\"", Ct);
        await victim.KillAsync();
        var killedAt = run.Elapsed;
        var emailsAtKill = smtp.Total;
        Volatile.Write(ref dead[victimIndex], true);
        var orphaned = (await cluster.RowsAsync("""
            SELECT "Id" FROM "JourneyInstances" WHERE "LeaseOwner" = @w AND "Status" IN ('active', 'waiting')
            """, Ct, ("w", victimName))).Select(r => (long)r[0]).ToHashSet();
        Assert.True(orphaned.Count > 0, $"{victimName} held no claim when it was killed");
        Say($"killed {victimName} at {killedAt.TotalSeconds:F1} s holding {orphaned.Count} claims (after {emailsAtKill} e-mails; it had sent {victimSends})");

        // Its claims are taken over once their lease (5 s) ends.
        var takeover = Stopwatch.StartNew();
        while (await cluster.ScalarAsync<long>("""SELECT count(*) FROM "JourneyInstances" WHERE "LeaseOwner" = @w""", Ct, ("w", victimName)) > 0)
        {
            Assert.True(takeover.Elapsed < TimeSpan.FromSeconds(30), $"{victimName}'s claims were not taken over within 30 s");
            await Task.Delay(100, Ct);
        }
        var takenOverIn = takeover.Elapsed;
        Say($"{victimName}'s claims taken over {takenOverIn.TotalSeconds:F1} s after the kill");

        // Everything runs to the end on the two others.
        while (await RunningAsync(main) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{await RunningAsync(main)} instances still running; {smtp.Total} e-mails");
            await LeasesAsync();
            if (run.Elapsed - lastSay > TimeSpan.FromSeconds(5))
            {
                lastSay = run.Elapsed;
                Say($"{run.Elapsed.TotalSeconds:F0} s: {smtp.Total} e-mails, {acknowledged.Count} events acknowledged");
            }
            await Task.Delay(1000, Ct);
        }
        var runTime = run.Elapsed;
        await stopDriving.CancelAsync();
        try
        {
            await driver;
        }
        catch (OperationCanceledException)
        {
        }
        Say($"all {People} instances completed {runTime.TotalSeconds:F1} s after publishing ({People / runTime.TotalSeconds:F0} instances/s, {smtp.Total / runTime.TotalSeconds:F0} e-mails/s)");

        // The schedule: wait for the occurrence just past (a kill may have delayed the cluster), then close it and let its instances finish.
        var lastSlot = Slot(DateTimeOffset.UtcNow.AddSeconds(-1));
        while (!cluster.ReadOccurrences().Any(o => o.VersionId == tickVersion && o.Occurrence >= lastSlot))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the occurrence of {lastSlot:O} was never read");
            await Task.Delay(200, Ct);
        }
        await WorkerCluster.PostAsync(admin[(victimIndex + 1) % 3], $"/api/journeys/{ticks}/close", "{}", Ct);
        while (await RunningAsync(ticks) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the schedule's instances did not finish");
            await Task.Delay(200, Ct);
        }
        var survivors = cluster.Workers.Where(w => w != victim).ToList();
        var sends = new Dictionary<string, double> { [victimName] = victimSends };
        foreach (var worker in survivors)
        {
            sends[worker.Name] = await WorkerCluster.MetricAsync(worker, "journeyworker_sends_total", "outcome=\"sent\"", Ct);
        }
        foreach (var worker in survivors)
        {
            await worker.KillAsync();
        }

        // Every instance of the audience journey took one of the two paths, each step once, seqs without a gap.
        var paths = await cluster.RowsAsync("""
            SELECT i."Id", i."Status", i."LeaseOwner", string_agg(s."NodeId" || ':' || s."Outcome", ',' ORDER BY s."Seq"), min(s."Seq"), max(s."Seq"), count(s."Seq")
            FROM "JourneyInstances" i LEFT JOIN "InstanceSteps" s ON s."InstanceId" = i."Id"
            WHERE i."JourneyId" = @j GROUP BY i."Id", i."Status", i."LeaseOwner"
            """, Ct, ("j", main));
        Assert.Equal(People, paths.Count);
        Assert.All(paths, p => Assert.Equal(InstanceStatus.Completed, (string)p[1]));
        Assert.All(paths, p => Assert.IsType<DBNull>(p[2]));
        var byPath = paths.GroupBy(p => p[3] as string ?? "").ToDictionary(g => g.Key, g => g.Count());
        var eventPath = string.Join(',', EventPath);
        var timeoutPath = string.Join(',', TimeoutPath);
        Assert.True(byPath.Keys.All(k => k == eventPath || k == timeoutPath), "unexpected paths: " + string.Join("; ", byPath.Where(p => p.Key != eventPath && p.Key != timeoutPath).Select(p => $"{p.Value} × {p.Key}")));
        Assert.All(paths, p => Assert.True((int)p[4] == StoredSteps.FirstSeq && (int)p[5] - (int)p[4] + 1 == (int)(long)p[6], $"instance {p[0]}: seqs {p[4]}..{p[5]} for {p[6]} steps"));
        var resumed = byPath.GetValueOrDefault(eventPath);
        var timedOut = byPath.GetValueOrDefault(timeoutPath);
        Assert.True(resumed > 0 && timedOut > 0, $"both paths should be taken: {resumed} by event, {timedOut} by timeout");

        // Every acknowledged event is stored, and those that routed are exactly the resumes.
        var stored = (await cluster.RowsAsync("""SELECT "Id" FROM "StoredEvents" """, Ct)).Select(r => (Guid)r[0]).ToHashSet();
        var lost = acknowledged.Keys.Count(id => !stored.Contains(id));
        Assert.True(lost == 0, $"{lost} of {acknowledged.Count} acknowledged events are not stored");
        Assert.Equal(resumed, acknowledged.Values.Sum());
        Assert.Equal(0, unacknowledged);

        // E-mail: exactly the expected messages, each (instance, node) once; the only resends are the killed worker's claims.
        // A Message-ID is drawn once per (instance, node) and kept in its outbox row: that row says which id each send has.
        var sent = (await cluster.RowsAsync("""SELECT "InstanceId", "NodeId", "MessageId" FROM "OutboxMessages" """, Ct))
            .ToDictionary(r => ((long)r[0], (string)r[1]), r => (string)r[2]);
        var instanceOf = sent.ToDictionary(m => m.Value, m => m.Key.Item1, StringComparer.Ordinal);
        var expected = paths.SelectMany(p => new[] { sent[((long)p[0], "first")], sent[((long)p[0], p[3] as string == eventPath ? "thanks" : "followUp")] }).ToHashSet();
        var tickInstances = await cluster.RowsAsync("""
            SELECT i."Id", i."Status", string_agg(s."NodeId" || ':' || s."Outcome", ',' ORDER BY s."Seq")
            FROM "JourneyInstances" i LEFT JOIN "InstanceSteps" s ON s."InstanceId" = i."Id"
            WHERE i."JourneyId" = @j GROUP BY i."Id", i."Status"
            """, Ct, ("j", ticks));
        Assert.All(tickInstances, t => Assert.Equal((InstanceStatus.Completed, "tick:entered,tick:succeeded"), ((string)t[1], t[2] as string)));
        expected.UnionWith(tickInstances.Select(t => sent[((long)t[0], "tick")]));
        var received = smtp.ByMessageId;
        var missing = expected.Where(id => !received.ContainsKey(id)).Take(5).ToList();
        var extra = received.Keys.Where(id => !expected.Contains(id)).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"missing {string.Join(", ", missing)}; unexpected {string.Join(", ", extra)}");
        Assert.Equal(expected.Count, received.Count);
        var leasesLost = cluster.Workers.ToDictionary(w => w.Name, w => w.Output.Count(l => l.Contains("lease lost before commit", StringComparison.Ordinal)));
        Say("lease lost before commit (log lines): " + string.Join(", ", leasesLost.Select(l => $"{l.Key} {l.Value}")));
        var resent = received.Where(m => m.Value > 1).Select(m => (Id: m.Key, Instance: instanceOf[m.Key])).ToList();
        Assert.True(resent.All(m => orphaned.Contains(m.Instance)), "sent twice outside the killed worker's claims: " + string.Join(", ", resent.Where(m => !orphaned.Contains(m.Instance)).Take(5)));
        Assert.True(received.Values.All(c => c <= 2), "a message was sent more than twice");
        Assert.Equal(expected.Count + resent.Count, smtp.Total);

        // The work was spread: each worker sent a fair share and held leases in many samples.
        foreach (var (name, count) in sends)
        {
            Say($"{name}: {count} e-mails sent ({count / smtp.Total:P0}), leases seen in {seenLeasing.GetValueOrDefault(name)} samples, at most {maxLeases.GetValueOrDefault(name)} at once");
        }
        Assert.All(cluster.Workers, w => Assert.True(seenLeasing.GetValueOrDefault(w.Name) > 0, $"{w.Name} never held a lease"));
        Assert.All(survivors, w => Assert.True(sends[w.Name] >= smtp.Total * 0.15, $"{w.Name} sent only {sends[w.Name]} of {smtp.Total}"));
        Assert.True(victimSends > 0, $"{victimName} sent nothing before it was killed");

        // Each occurrence of the schedule was read once across the processes, and none was skipped.
        var reads = cluster.ReadOccurrences().Where(o => o.VersionId == tickVersion).ToList();
        var twice = reads.Where(o => !o.Recovering).GroupBy(o => o.Occurrence).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, "occurrences read more than once: " + string.Join(", ", twice.Select(t => t.ToString("O", CultureInfo.InvariantCulture))));
        Assert.All(reads.Where(o => o.Recovering), o => Assert.Contains(reads, r => r.Occurrence == o.Occurrence && r.WorkerId == victimName && !r.Recovering));
        var slots = new List<DateTimeOffset>();
        for (var slot = Slot(ticksPublished).AddSeconds(5); slot <= lastSlot; slot = slot.AddSeconds(5))
        {
            slots.Add(slot);
        }
        var occurrences = reads.Select(o => o.Occurrence).Distinct().Order().ToList();
        var skipped = slots.Except(occurrences).ToList();
        Assert.True(skipped.Count == 0, "occurrences never read: " + string.Join(", ", skipped.Select(t => t.ToString("O", CultureInfo.InvariantCulture))));
        Assert.All(occurrences, o => Assert.True(o > ticksPublishing && o.Second % 5 == 0 && o.Millisecond == 0, $"{o:O} is not an occurrence of the schedule"));
        Say($"schedule: {occurrences.Count} occurrences read once each ({string.Join(", ", reads.GroupBy(o => o.WorkerId).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"))}), {tickInstances.Count} tick instances");

        Say($"run: {runTime.TotalSeconds:F1} s for {People} instances ({People / runTime.TotalSeconds:F0}/s), {smtp.Total} e-mails ({smtp.Total / runTime.TotalSeconds:F0}/s), " +
            $"{resumed} resumed by one of {acknowledged.Count} events ({retried} requests retried), {timedOut} timed out; {resent.Count} resent after the kill; " +
            $"takeover {takenOverIn.TotalSeconds:F1} s; import {importTime.TotalSeconds:F1} s; start {started.TotalSeconds:F1} s; total {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// The worker running a Read Audience is SIGKILLed halfway through: another worker's clustered scheduler recovers
    /// that firing once Quartz sees the dead worker miss its check-ins, and the read finishes there. Everyone in the
    /// audience is admitted exactly once, without any worker restarting.
    /// </summary>
    [Fact]
    public async Task A_read_cut_off_by_a_killed_worker_is_finished_by_another_worker()
    {
        const int Count = 3_000;
        var deadline = DateTime.UtcNow.AddMinutes(4);
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        await using var smtp = new SmtpCounter();
        await using var cluster = await WorkerCluster.StartAsync(pg.ConnectionString, smtp, 2, null, Ct);
        var admin = cluster.Client(0);
        var ndjson = new StringBuilder();
        for (var n = 0; n < Count; n++)
        {
            ndjson.Append(Profile($"p{n}@example.com", "Seattle"));
        }
        Assert.Equal(Count, await WorkerCluster.ImportAsync(admin, ndjson.ToString(), Ct));
        var audience = await AudienceAsync(admin, "homeAddress.city = \"Seattle\"");
        // 200 profiles a second: the read takes 15 s, long enough to be cut off in the middle.
        var journey = Id(await WorkerCluster.PostAsync(admin, "/api/journeys", $$"""
            {"name": "Slow read", "start": "read", "nodes": [
              {"id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": {"frequency": "once"}, "throttle": 200, "next": "hold"},
              {"id": "hold", "type": "wait", "duration": "P1D"}]}
            """, Ct));
        await WorkerCluster.PostAsync(admin, $"/api/journeys/{journey}/publish", "{}", Ct);

        async Task<long> AdmittedAsync() =>
            await cluster.ScalarAsync<long>("""SELECT count(*) FROM "JourneyInstances" WHERE "JourneyId" = @j""", Ct, ("j", journey));
        ReadOccurrence? reading;
        while ((reading = cluster.ReadOccurrences().FirstOrDefault()) is null || await AdmittedAsync() < Count / 5)
        {
            Assert.True(DateTime.UtcNow < deadline, "the read did not start");
            await Task.Delay(100, Ct);
        }
        var reader = cluster.Workers.Single(w => w.Name == reading.WorkerId);
        await reader.KillAsync();
        var killed = Stopwatch.StartNew();
        var admittedAtKill = await AdmittedAsync();
        Say($"killed {reader.Name} mid-read with {admittedAtKill} of {Count} admitted");
        Assert.InRange(admittedAtKill, 1, Count - 1);

        while (await cluster.ScalarAsync<long>("""SELECT count(*) FROM "JourneyVersions" WHERE "JourneyId" = @j AND "AudienceReadAt" IS NOT NULL""", Ct, ("j", journey)) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the read was never finished: {await AdmittedAsync()} of {Count} admitted {killed.Elapsed.TotalSeconds:F0} s after the kill");
            await Task.Delay(250, Ct);
        }
        Say($"the read was finished by another worker {killed.Elapsed.TotalSeconds:F1} s after the kill");

        var recovered = Assert.Single(cluster.ReadOccurrences(), o => o.Recovering);
        Assert.NotEqual(reader.Name, recovered.WorkerId);
        Assert.Equal(reading.Occurrence, recovered.Occurrence);
        Assert.Equal(Count, await AdmittedAsync());
        Assert.Equal(Count, await cluster.ScalarAsync<long>("""SELECT count(DISTINCT "ProfileId") FROM "JourneyInstances" WHERE "JourneyId" = @j""", Ct, ("j", journey)));
    }

    /// <summary>One NDJSON line: a profile with an e-mail identity and a home city.</summary>
    private static string Profile(string email, string city) =>
        new JsonObject { ["identities"] = new JsonObject { ["email"] = email }, ["attributes"] = new JsonObject { ["homeAddress"] = new JsonObject { ["city"] = city } } }
            .ToJsonString() + "\n";

    private static DateTimeOffset Slot(DateTimeOffset at) =>
        new(at.Year, at.Month, at.Day, at.Hour, at.Minute, at.Second - at.Second % 5, TimeSpan.Zero);

    private static Guid Id(JsonNode node) => Guid.Parse(node["id"]!.GetValue<string>());

    private static async Task<Guid> AudienceAsync(HttpClient admin, string rule) =>
        Id(await WorkerCluster.PostAsync(admin, "/api/audiences", new JsonObject { ["name"] = "aud-" + Guid.NewGuid().ToString("N")[..8], ["rule"] = rule }.ToJsonString(), Ct));
}
