using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JourneyWorker.Testing;
using Npgsql;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>One Read Audience run as a worker logged it.</summary>
public sealed record ReadOccurrence(DateTimeOffset Occurrence, Guid VersionId, string WorkerId, bool Recovering);

/// <summary>
/// Several JourneyWorker processes (the built service, <see cref="WorkerProcess"/>) on one PostgreSQL database, e-mail
/// going to an <see cref="SmtpCounter"/> on loopback. Each worker has a fixed WorkerId (its name) and short leases.
/// </summary>
public sealed partial class WorkerCluster : IAsyncDisposable
{
    public const string AdminKey = "cluster-admin-key-0123456789";
    public const string IngestKey = "cluster-ingest-key-0123456789";

    private readonly string _folder;
    private readonly List<HttpClient> _clients = [];

    private WorkerCluster(string folder, string connectionString, IReadOnlyList<WorkerProcess> workers)
    {
        _folder = folder;
        ConnectionString = connectionString;
        Workers = workers;
    }

    public string ConnectionString { get; }

    public IReadOnlyList<WorkerProcess> Workers { get; }

    /// <summary>Starts all workers at once (they race for the migrations, as a fleet starting together does) and waits until every one is ready.</summary>
    public static async Task<WorkerCluster> StartAsync(
        string connectionString, SmtpCounter smtp, int count, IReadOnlyDictionary<string, string>? settings, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("journeyworker-cluster-").FullName;
        var workers = new List<WorkerProcess>();
        var cluster = new WorkerCluster(folder, connectionString, workers);
        try
        {
            for (var i = 1; i <= count; i++)
            {
                var name = $"worker-{i}";
                var data = Directory.CreateDirectory(Path.Combine(folder, name)).FullName;
                var all = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["Storage:Provider"] = "PostgreSql",
                    ["ConnectionStrings:Journeys"] = connectionString,
                    ["Security:AdminApiKey"] = AdminKey,
                    ["Security:IngestApiKey"] = IngestKey,
                    ["Tracking:SigningKey"] = "cluster-signing-key-0123456789abcdef0123",
                    ["Tracking:PublicBaseUrl"] = "http://journeys.test",
                    ["Email:Smtp:Host"] = "127.0.0.1",
                    ["Email:Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
                    ["Push:PickupDirectory"] = Path.Combine(data, "push"),
                    ["Runtime:WorkerId"] = name,
                    ["Runtime:LeaseDuration"] = "00:00:05",
                    ["Runtime:PollInterval"] = "00:00:00.200",
                    ["Logging:LogLevel:Default"] = "Warning",
                    ["Logging:LogLevel:JourneyWorker.Runtime.ReadAudienceJob"] = "Information",
                };
                foreach (var (key, value) in settings ?? new Dictionary<string, string>())
                {
                    all[key] = value;
                }
                workers.Add(WorkerProcess.Start(name, data, all));
            }
            await Task.WhenAll(workers.Select(w => w.WaitReadyAsync(TimeSpan.FromSeconds(90), cancellationToken)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client for worker <paramref name="index"/> (0-based) with the admin key or the ingest key.</summary>
    public HttpClient Client(int index, bool ingest = false)
    {
        var client = new HttpClient { BaseAddress = Workers[index].BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ingest ? IngestKey : AdminKey);
        lock (_clients)
        {
            _clients.Add(client);
        }
        return client;
    }

    public static async Task<JsonNode> PostAsync(HttpClient client, string url, string json, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsync(new Uri(url, UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"POST {url}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>Imports NDJSON through the import route of one worker; every line must be imported.</summary>
    public static async Task<int> ImportAsync(HttpClient client, string ndjson, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsync(new Uri("/api/profiles/import", UriKind.Relative),
            new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson"), cancellationToken);
        var result = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        Assert.True(response.IsSuccessStatusCode && result!["failed"]!.GetValue<int>() == 0, $"import: {(int)response.StatusCode} {result}");
        return result!["imported"]!.GetValue<int>();
    }

    /// <summary>The Read Audience runs every worker has logged so far (see ReadAudienceJob).</summary>
    public IReadOnlyList<ReadOccurrence> ReadOccurrences() =>
        [.. Workers.SelectMany(w => w.Output).Select(line => OccurrenceLine().Match(line)).Where(m => m.Success).Select(m => new ReadOccurrence(
            DateTimeOffset.Parse(m.Groups["at"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            Guid.Parse(m.Groups["version"].Value), m.Groups["worker"].Value, bool.Parse(m.Groups["recovering"].Value)))];

    [GeneratedRegex(@"Read Audience occurrence (?<at>\S+) of journey version (?<version>[0-9a-f-]{36}) runs on worker (?<worker>\S+) \(recovering: (?<recovering>True|False)\)")]
    private static partial Regex OccurrenceLine();

    /// <summary>A scalar from the cluster's database.</summary>
    public async Task<T> ScalarAsync<T>(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? default! : (T)Convert.ChangeType(result, typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>Rows from the cluster's database, each as an object array.</summary>
    public async Task<List<object[]>> RowsAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 120 };
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var rows = new List<object[]>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A worker's counter from /metrics (summed over the label sets that contain <paramref name="labels"/>).</summary>
    public static async Task<double> MetricAsync(WorkerProcess worker, string name, string labels, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken);
        return text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(labels, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        foreach (var worker in Workers)
        {
            await worker.DisposeAsync();
        }
        NpgsqlConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
