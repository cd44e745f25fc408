using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Testing;
using Microsoft.Data.Sqlite;

// Runs the service as a separate process, kills it (SIGKILL) at random moments while an audience
// enters, e-mails go out and events come in, restarts it and checks the guarantees after every cycle.
var cycles = args.SkipWhile(a => a != "--cycles").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(5);
const int People = 400;
const string Admin = "harness-admin-key-0123456789", Ingest = "harness-ingest-key-0123456789";
var dll = Path.Combine(AppContext.BaseDirectory, "JourneyWorker.dll");
var data = Directory.CreateTempSubdirectory("journeyworker-crash-").FullName;
var db = Path.Combine(data, "journeys.db");
var random = new Random(cycles * 7919);
await using var smtp = new SmtpCounter();
var port = FreePort();
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
var acknowledged = new ConcurrentBag<string>();
var failures = new List<string>();
int kills = 0, sent = 0;

Process Start()
{
    var info = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = data };
    info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
    info.Environment["Urls"] = $"http://127.0.0.1:{port}";
    info.Environment["ConnectionStrings__Journeys"] = $"Data Source={db}";
    info.Environment["Security__AdminApiKey"] = Admin;
    info.Environment["Security__IngestApiKey"] = Ingest;
    info.Environment["Tracking__SigningKey"] = "harness-signing-key-0123456789abcdef0123";
    info.Environment["Email__Smtp__Host"] = "127.0.0.1";
    info.Environment["Email__Smtp__Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture);
    info.Environment["Push__PickupDirectory"] = Path.Combine(data, "push");
    info.Environment["Runtime__LeaseDuration"] = "00:00:05";
    info.Environment["Runtime__PollInterval"] = "00:00:00.200";
    info.Environment["Runtime__BatchSize"] = "50";
    info.Environment["Logging__LogLevel__Default"] = "Warning";
    var process = Process.Start(info)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, _) => { };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

async Task WaitReadyAsync()
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed < TimeSpan.FromSeconds(60))
    {
        try
        {
            if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }
        await Task.Delay(100);
    }
    throw new TimeoutException("the service did not become ready within 60 s");
}

async Task<JsonNode> PostAsync(string url, string body, string key = Admin, string contentType = "application/json", string? idempotency = null)
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

var service = Start();
await WaitReadyAsync();
var profiles = string.Concat(Enumerable.Range(0, People).Select(i => $"{{\"identities\": {{\"email\": \"p{i}@example.com\"}}, \"attributes\": {{\"homeAddress\": {{\"city\": \"Seattle\"}}}}}}\n"));
await PostAsync("/api/profiles/import", profiles, contentType: "application/x-ndjson");
await PostAsync("/api/event-configs", """{"name": "purchase", "idType": "ruleBased", "condition": "purchaseMessage = \"thank you\"", "namespace": "email", "profileIdentifier": "customerEmail", "fields": []}""");
var audience = (await PostAsync("/api/audiences", """{"name": "Seattle", "rule": "homeAddress.city = \"Seattle\""}"""))["id"]!.GetValue<string>();
var live = (await PostAsync("/api/journeys", $$"""{"name": "Audience", "start": "read", "nodes": [{"id": "read", "type": "readAudience", "audience": "{{audience}}", "schedule": {"frequency": "once"}, "next": "mail"}, {"id": "mail", "type": "email", "subject": "Hello", "html": "<p>Hi</p>"}]}"""))["id"]!.GetValue<string>();
var onEvent = (await PostAsync("/api/journeys", """{"name": "On purchase", "start": "purchase", "nodes": [{"id": "purchase", "type": "event", "event": "purchase", "next": "thanks"}, {"id": "thanks", "type": "email", "subject": "Thanks", "html": "<p>Thanks</p>"}]}"""))["id"]!.GetValue<string>();
await PostAsync($"/api/journeys/{onEvent}/publish", "{}");
await PostAsync($"/api/journeys/{live}/publish", "{}");

for (var cycle = 1; cycle <= cycles; cycle++)
{
    using var loading = new CancellationTokenSource();
    var loader = Task.Run(async () =>
    {
        while (!loading.IsCancellationRequested)
        {
            var key = Guid.NewGuid().ToString();
            try
            {
                var accepted = await PostAsync("/api/events", $$"""{"purchaseMessage": "thank you", "customerEmail": "p{{random.Next(People)}}@example.com"}""", Ingest, idempotency: key);
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
    var inFlightBefore = smtp.Total;
    service.Kill(entireProcessTree: true);
    await service.WaitForExitAsync();
    kills++;
    await loading.CancelAsync();
    await loader;
    var restarted = Stopwatch.StartNew();
    service = Start();
    await WaitReadyAsync();
    var readyIn = restarted.Elapsed;
    var resumedIn = await ResumedWithinAsync(smtp, TimeSpan.FromSeconds(15));
    failures.AddRange(Check(db, acknowledged, cycle));
    // Leases are 5 s: due work left by the killed process must be running again within 5 s of readiness (plus a poll).
    if ((resumedIn is null && Scalar(db, "SELECT COUNT(*) FROM JourneyInstances WHERE Status IN ('active', 'waiting')") > 0) || resumedIn > TimeSpan.FromSeconds(6))
    {
        failures.Add($"cycle {cycle}: due work did not resume within 6 s of the restart");
    }
    Console.WriteLine($"cycle {cycle}: killed after {inFlightBefore} e-mails, ready in {readyIn.TotalSeconds:F1} s, work resumed in {resumedIn?.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) ?? "(nothing due)"} s, {acknowledged.Count} events acknowledged, {smtp.Total} e-mails, {smtp.Duplicates} duplicate(s)");
}

// Let everything finish, then the final checks.
var settle = Stopwatch.StartNew();
while (settle.Elapsed < TimeSpan.FromSeconds(60) && Scalar(db, "SELECT COUNT(*) FROM JourneyInstances WHERE Status IN ('active', 'waiting')") > 0)
{
    await Task.Delay(500);
}
service.Kill(entireProcessTree: true);
await service.WaitForExitAsync();
failures.AddRange(Check(db, acknowledged, cycles + 1));
var audienceInstances = Scalar(db, $"SELECT COUNT(*) FROM JourneyInstances WHERE upper(JourneyId) = upper('{live}')");
if (audienceInstances != People)
{
    failures.Add($"the audience journey has {audienceInstances} instances, not {People}");
}
var unfinished = Scalar(db, "SELECT COUNT(*) FROM JourneyInstances WHERE Status IN ('active', 'waiting')");
if (unfinished > 0)
{
    failures.Add($"{unfinished} instances still unfinished 60 s after the last restart");
}
if (smtp.Duplicates > kills * 50)
{
    failures.Add($"{smtp.Duplicates} duplicate e-mails for {kills} kills: more than a batch in flight per kill");
}

Console.WriteLine($"crash harness: {cycles} cycles, {kills} kills, {acknowledged.Count} events acknowledged (all stored: {!failures.Any(f => f.Contains("lost", StringComparison.Ordinal))}), " +
    $"{Scalar(db, "SELECT COUNT(*) FROM JourneyInstances")} instances, {smtp.ByMessageId.Count} distinct e-mails, {smtp.Duplicates} duplicate(s) (same Message-ID)");
SqliteConnection.ClearAllPools();
Directory.Delete(data, recursive: true);
foreach (var failure in failures)
{
    Console.WriteLine("FAIL " + failure);
}
Console.WriteLine(failures.Count == 0 ? "crash harness: PASS" : $"crash harness: FAIL ({failures.Count})");
return failures.Count == 0 ? 0 : 1;

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

static IEnumerable<string> Check(string db, IEnumerable<string> acknowledged, int cycle)
{
    using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
    connection.Open();
    var stored = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
    using (var command = connection.CreateCommand())
    {
        command.CommandText = "SELECT Id FROM StoredEvents";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            stored.Add(reader.GetString(0));
        }
    }
    var lost = acknowledged.Count(id => !stored.Contains(id));
    if (lost > 0)
    {
        yield return $"cycle {cycle}: {lost} acknowledged events lost";
    }
    if (Scalar(connection, "SELECT COUNT(*) FROM (SELECT 1 FROM JourneyInstances WHERE JourneyId IN (SELECT JourneyId FROM JourneyVersions WHERE Definition LIKE '%readAudience%') GROUP BY JourneyId, ProfileId HAVING COUNT(*) > 1)") is > 0 and var twice)
    {
        yield return $"cycle {cycle}: {twice} profiles entered the audience journey more than once";
    }
    if (Scalar(connection, "SELECT COUNT(*) FROM (SELECT 1 FROM InstanceSteps GROUP BY InstanceId, NodeId, Outcome HAVING COUNT(*) > 1)") is > 0 and var repeated)
    {
        yield return $"cycle {cycle}: {repeated} (instance, node, outcome) steps recorded twice";
    }
}

static long Scalar(object target, string sql)
{
    var connection = target as SqliteConnection ?? new SqliteConnection($"Data Source={target};Mode=ReadOnly;Pooling=False");
    var owned = target is not SqliteConnection;
    try
    {
        if (owned)
        {
            connection.Open();
        }
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
    finally
    {
        if (owned)
        {
            connection.Dispose();
        }
    }
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
