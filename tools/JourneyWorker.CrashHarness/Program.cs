using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.CrashHarness;
using JourneyWorker.Testing;

// Runs the service as separate processes, kills one (SIGKILL) at random moments while an audience enters, e-mails go
// out and events come in, restarts it and checks the guarantees after every cycle. On SQLite (the default) one worker
// runs on a file; with --provider postgresql, --workers N run on one fresh PostgreSQL database and one of them is
// killed at a time while the others go on.
string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
var cycles = Option("--cycles") is { } c ? int.Parse(c, CultureInfo.InvariantCulture) : 5;
var postgres = (Option("--provider") ?? "sqlite").ToLowerInvariant() switch
{
    "sqlite" => false,
    "postgresql" or "postgres" => true,
    var other => throw new ArgumentException($"--provider {other}: sqlite or postgresql"),
};
var workers = Option("--workers") is { } w ? int.Parse(w, CultureInfo.InvariantCulture) : postgres ? 3 : 1;
if (!postgres && workers != 1)
{
    throw new ArgumentException("SQLite runs one worker: --workers N needs --provider postgresql");
}
var server = Option("--postgres") ?? Environment.GetEnvironmentVariable("JOURNEYWORKER_TEST_POSTGRES");
if (postgres && string.IsNullOrWhiteSpace(server))
{
    throw new ArgumentException("--provider postgresql needs --postgres \"<Npgsql connection string>\" (or JOURNEYWORKER_TEST_POSTGRES): a server where the user may create databases");
}

const int People = 400;
const int BatchSize = 50;
var lease = TimeSpan.FromSeconds(5);
const string Admin = "harness-admin-key-0123456789", Ingest = "harness-ingest-key-0123456789";
var data = Directory.CreateTempSubdirectory("journeyworker-crash-").FullName;
await using HarnessDatabase db = postgres ? await PostgreSqlHarnessDatabase.CreateAsync(server!) : new SqliteHarnessDatabase(data);
var random = new Random(cycles * 7919);
await using var smtp = new SmtpCounter();
var slots = Enumerable.Range(1, workers).Select(i => new Slot($"w{i}")).ToArray();
var turn = -1;
var acknowledged = new ConcurrentBag<string>();
var failures = new List<string>();
int kills = 0, sent = 0;

async Task StartAsync(Slot slot)
{
    slot.Generation++;
    var settings = new Dictionary<string, string>(db.Settings)
    {
        ["Security:AdminApiKey"] = Admin,
        ["Security:IngestApiKey"] = Ingest,
        ["Tracking:SigningKey"] = "harness-signing-key-0123456789abcdef0123",
        ["Email:Smtp:Host"] = "127.0.0.1",
        ["Email:Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
        ["Push:PickupDirectory"] = Path.Combine(data, "push"),
        ["Runtime:LeaseDuration"] = lease.ToString(),
        ["Runtime:PollInterval"] = "00:00:00.200",
        ["Runtime:BatchSize"] = BatchSize.ToString(CultureInfo.InvariantCulture),
        ["Logging:LogLevel:Default"] = "Warning",
    };
    if (postgres)
    {
        // Known names, so that its claims can be followed; a new one per start, as the default is.
        settings["Runtime:WorkerId"] = slot.WorkerId;
    }
    slot.Http?.Dispose();
    slot.Process = WorkerProcess.Start(slot.Name, data, settings);
    slot.Http = new HttpClient { BaseAddress = slot.Process.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    await slot.Process.WaitReadyAsync(TimeSpan.FromSeconds(60));
    slot.Up = true;
}

async Task<JsonNode> PostAsync(HttpClient http, string url, string body, string key = Admin, string contentType = "application/json", string? idempotency = null)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, contentType) };
    request.Headers.Add("X-Api-Key", key);
    if (idempotency is not null)
    {
        request.Headers.Add("Idempotency-Key", idempotency);
    }
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode ? JsonNode.Parse(text)! : throw new InvalidOperationException($"POST {url}: {(int)response.StatusCode} {text}");
}

long Running() => db.Scalar("""SELECT COUNT(*) FROM "JourneyInstances" WHERE "Status" IN ('active', 'waiting')""");

try
{
    return await RunAsync();
}
finally
{
    // Whatever happened, no worker outlives the harness.
    foreach (var slot in slots)
    {
        if (slot.Process is { } process)
        {
            await process.DisposeAsync();
        }
        slot.Http?.Dispose();
    }
    Directory.Delete(data, recursive: true);
}

async Task<int> RunAsync()
{
    await Task.WhenAll(slots.Select(StartAsync));
    var admin = slots[0].Http!;
    var profiles = string.Concat(Enumerable.Range(0, People).Select(i => $"{{\"identities\": {{\"email\": \"p{i}@example.com\"}}, \"attributes\": {{\"homeAddress\": {{\"city\": \"Seattle\"}}}}}}\n"));
    await PostAsync(admin, "/api/profiles/import", profiles, contentType: "application/x-ndjson");
    await PostAsync(admin, "/api/event-configs", """{"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail", "fields": []}""");
    var audience = (await PostAsync(admin, "/api/audiences", """{"name": "Seattle", "rule": "homeAddress.city = \"Seattle\""}"""))["id"]!.GetValue<string>();
    var live = (await PostAsync(admin, "/api/journeys", $$"""{"name": "Audience", "start": "read", "nodes": [{"id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": {"frequency": "once"}, "next": "mail"}, {"id": "mail", "type": "email", "subject": "Hello", "html": "<p>Hi</p>"}]}"""))["id"]!.GetValue<string>();
    var onEvent = (await PostAsync(admin, "/api/journeys", """{"name": "On purchase", "start": "purchase", "nodes": [{"id": "purchase", "type": "event", "event": "purchase", "next": "thanks"}, {"id": "thanks", "type": "email", "subject": "Thanks", "html": "<p>Thanks</p>"}]}"""))["id"]!.GetValue<string>();
    await PostAsync(admin, $"/api/journeys/{onEvent}/publish", "{}");
    await PostAsync(admin, $"/api/journeys/{live}/publish", "{}");

    for (var cycle = 1; cycle <= cycles; cycle++)
    {
        using var loading = new CancellationTokenSource();
        var loader = Task.Run(async () =>
        {
            while (!loading.IsCancellationRequested)
            {
                // Round-robin over the workers that are up; a request to one that is being killed is not acknowledged, so not owed.
                var slot = slots[(int)((uint)Interlocked.Increment(ref turn) % slots.Length)];
                var key = Guid.NewGuid().ToString();
                if (!slot.Up)
                {
                    await Task.Delay(5);
                    continue;
                }
                try
                {
                    var accepted = await PostAsync(slot.Http!, "/api/events", $$"""{"purchaseMessage": "thank you", "customerEmail": "p{{random.Next(People)}}@example.com"}""", Ingest, idempotency: key);
                    acknowledged.Add(accepted["id"]!.GetValue<string>());
                    Interlocked.Increment(ref sent);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
                {
                    await Task.Delay(20); // the service is down: unacknowledged, so not owed
                }
            }
        });
        await Task.Delay(random.Next(300, 2500));
        var victim = slots[(cycle - 1) % slots.Length];
        var inFlightBefore = smtp.Total;
        victim.Up = false;
        await victim.Process!.KillAsync();
        kills++;

        if (!postgres)
        {
            await loading.CancelAsync();
            await loader;
            var restarted = Stopwatch.StartNew();
            await StartAsync(victim);
            var readyIn = restarted.Elapsed;
            var resumedIn = await ResumedWithinAsync(smtp, TimeSpan.FromSeconds(15));
            failures.AddRange(Check(db, acknowledged, cycle));
            // Leases are 5 s: due work left by the killed process must be running again within 5 s of readiness (plus a poll).
            if ((resumedIn is null && Running() > 0) || resumedIn > TimeSpan.FromSeconds(6))
            {
                failures.Add($"cycle {cycle}: due work did not resume within 6 s of the restart");
            }
            Console.WriteLine($"cycle {cycle}: killed after {inFlightBefore} e-mails, ready in {readyIn.TotalSeconds:F1} s, work resumed in {resumedIn?.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) ?? "(nothing due)"} s, {acknowledged.Count} events acknowledged, {smtp.Total} e-mails, {smtp.Duplicates} duplicate(s)");
            continue;
        }

        // The others go on: the victim's claims are theirs once the lease ends (5 s, plus a poll).
        const string HeldBy = """SELECT COUNT(*) FROM "JourneyInstances" WHERE "LeaseOwner" = @owner AND "Status" IN ('active', 'waiting')""";
        var held = db.Scalar(HeldBy, ("@owner", victim.WorkerId));
        var takeover = Stopwatch.StartNew();
        TimeSpan? takenOverIn = null;
        while (takeover.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (db.Scalar(HeldBy, ("@owner", victim.WorkerId)) == 0)
            {
                takenOverIn = takeover.Elapsed;
                break;
            }
            await Task.Delay(50);
        }
        await loading.CancelAsync();
        await loader;
        if (takenOverIn is null || takenOverIn > lease + TimeSpan.FromSeconds(3))
        {
            failures.Add($"cycle {cycle}: {victim.Name}'s {held} claims were not taken over within {(lease + TimeSpan.FromSeconds(3)).TotalSeconds:F0} s of the kill");
        }
        var restart = Stopwatch.StartNew();
        await StartAsync(victim);
        var upIn = restart.Elapsed;
        failures.AddRange(Check(db, acknowledged, cycle));
        Console.WriteLine($"cycle {cycle}: killed {victim.Name} holding {held} claims after {inFlightBefore} e-mails, its claims taken over in {takenOverIn?.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) ?? "(not)"} s, " +
            $"restarted and ready in {upIn.TotalSeconds:F1} s, {acknowledged.Count} events acknowledged, {smtp.Total} e-mails, {smtp.Duplicates} duplicate(s)");
    }

    // Let everything finish, then the final checks.
    var settle = Stopwatch.StartNew();
    while (settle.Elapsed < TimeSpan.FromSeconds(60) && Running() > 0)
    {
        await Task.Delay(500);
    }
    foreach (var slot in slots)
    {
        slot.Up = false;
        await slot.Process!.KillAsync();
    }
    failures.AddRange(Check(db, acknowledged, cycles + 1));
    var audienceInstances = db.Scalar($"""SELECT COUNT(*) FROM "JourneyInstances" WHERE upper(CAST("JourneyId" AS TEXT)) = upper('{live}')""");
    if (audienceInstances != People)
    {
        failures.Add($"the audience journey has {audienceInstances} instances, not {People}");
    }
    var unfinished = Running();
    if (unfinished > 0)
    {
        failures.Add($"{unfinished} instances still unfinished 60 s after the last restart");
    }
    if (smtp.Duplicates > kills * BatchSize)
    {
        failures.Add($"{smtp.Duplicates} duplicate e-mails for {kills} kills: more than a batch in flight per kill");
    }

    var where = postgres ? $" on {db.Description} with {workers} workers" : "";
    Console.WriteLine($"crash harness{where}: {cycles} cycles, {kills} kills, {acknowledged.Count} events acknowledged (all stored: {!failures.Any(f => f.Contains("lost", StringComparison.Ordinal))}), " +
        $"{db.Scalar("""SELECT COUNT(*) FROM "JourneyInstances" """)} instances, {smtp.ByMessageId.Count} distinct e-mails, {smtp.Duplicates} duplicate(s) (same Message-ID)");
    foreach (var failure in failures)
    {
        Console.WriteLine("FAIL " + failure);
    }
    Console.WriteLine(failures.Count == 0 ? "crash harness: PASS" : $"crash harness: FAIL ({failures.Count})");
    return failures.Count == 0 ? 0 : 1;
}

static async Task<TimeSpan?> ResumedWithinAsync(SmtpCounter smtp, TimeSpan limit)
{
    var before = smtp.Total;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < limit)
    {
        if (smtp.Total > before)
        {
            return clock.Elapsed;
        }
        await Task.Delay(50);
    }
    return null;
}

static IEnumerable<string> Check(HarnessDatabase db, IEnumerable<string> acknowledged, int cycle)
{
    var stored = db.StoredEventIds();
    var lost = acknowledged.Count(id => !stored.Contains(id));
    if (lost > 0)
    {
        yield return $"cycle {cycle}: {lost} acknowledged events lost";
    }
    if (db.Scalar("""SELECT COUNT(*) FROM (SELECT 1 FROM "JourneyInstances" WHERE "JourneyId" IN (SELECT "JourneyId" FROM "JourneyVersions" WHERE "Definition" LIKE '%readAudience%') GROUP BY "JourneyId", "ProfileId" HAVING COUNT(*) > 1) AS "twice" """) is > 0 and var twice)
    {
        yield return $"cycle {cycle}: {twice} profiles entered the audience journey more than once";
    }
    if (db.Scalar("""SELECT COUNT(*) FROM (SELECT 1 FROM "InstanceSteps" GROUP BY "InstanceId", "NodeId", "Outcome" HAVING COUNT(*) > 1) AS "repeated" """) is > 0 and var repeated)
    {
        yield return $"cycle {cycle}: {repeated} (instance, node, outcome) steps recorded twice";
    }
}

/// <summary>One worker of the run: its current process (a new one after each kill) and a WorkerId per start.</summary>
internal sealed class Slot(string name)
{
    public string Name { get; } = name;
    public int Generation { get; set; }
    public string WorkerId => $"harness-{Name}-{Generation}";
    public WorkerProcess? Process { get; set; }
    public HttpClient? Http { get; set; }

    /// <summary>Up and ready: the loader sends to it.</summary>
    public bool Up
    {
        get => Volatile.Read(ref _up);
        set => Volatile.Write(ref _up, value);
    }

    private bool _up;
}
