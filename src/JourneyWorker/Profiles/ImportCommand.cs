using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using JourneyWorker.Definitions;

namespace JourneyWorker.Profiles;

/// <summary>
/// `JourneyWorker import FILE.ndjson --server URL`: streams the file to <c>POST /api/profiles/import</c> as a long import
/// (<c>Prefer: respond-async</c>), with a progress bar of what was sent, then follows the import to its end and prints
/// its counts and first errors. Exit code 0 when every line was imported, 1 when lines failed or the import did not
/// complete, 2 on usage.
/// </summary>
public static class ImportCommand
{
    public const string Name = "import";
    private const int ErrorsShown = 20;

    private const string Usage = """
        usage: JourneyWorker import FILE.ndjson --server URL

        Imports the profiles of FILE (NDJSON: one profile object a line, with "identities", as PUT /api/profiles
        takes it) into the JourneyWorker at URL. The file is streamed, whatever its size; a progress bar shows what
        was sent. Every bad line is reported with its number; the other lines are kept. The import can be followed
        from elsewhere at the /api/imports/{id} it prints.

        The admin API key is read from the environment variable JOURNEYWORKER_ADMIN_KEY.
        """;

    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == Name;

    /// <summary>Runs the command; <paramref name="client"/>, when given, is used instead of one made from --server and the environment.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, HttpClient? client = null, CancellationToken cancellationToken = default)
    {
        var interactive = output is null && !Console.IsOutputRedirected;
        output ??= Console.Out;
        var rest = args.Skip(1).ToList();
        if (CommandArguments.WantsHelp(rest))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        var server = CommandArguments.TakeOption(rest, "--server");
        if (rest.Count != 1 || rest[0].StartsWith("--", StringComparison.Ordinal))
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }
        var file = new FileInfo(rest[0]);
        if (!file.Exists)
        {
            await output.WriteLineAsync($"{Name}: {rest[0]}: no such file.");
            return 2;
        }
        using var owned = client is null ? await CommandArguments.ClientAsync(Name, server, output) : null;
        var http = client ?? owned;
        if (http is null)
        {
            return 2;
        }
        if (owned is not null)
        {
            // A large file takes longer than any fixed timeout to send; the server's own limits apply.
            owned.Timeout = Timeout.InfiniteTimeSpan;
        }

        var bar = new ProgressBar(output, interactive, file.Length, TimeProvider.System);
        ImportStatusResponse status;
        try
        {
            status = await SendAsync(http, file, bar, output, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            await output.WriteLineAsync($"{Name}: the server could not be reached or broke off: {e.Message}");
            return 1;
        }
        catch (IOException e)
        {
            await output.WriteLineAsync($"{Name}: {e.Message}");
            return 1;
        }
        return await ReportAsync(status, output);
    }

    private static async Task<ImportStatusResponse> SendAsync(HttpClient http, FileInfo file, ProgressBar bar, TextWriter output, CancellationToken cancellationToken)
    {
        await using var stream = file.OpenRead();
        using var content = new ProgressContent(stream, bar);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/profiles/import") { Content = content };
        request.Headers.Add("Prefer", "respond-async");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        bar.Finish();
        if (response.StatusCode == HttpStatusCode.OK)
        {
            // A server without long imports answered at the end, with the counts.
            var result = (await response.Content.ReadFromJsonAsync<ImportResponse>(cancellationToken))!;
            var now = TimeProvider.System.GetUtcNow().UtcDateTime;
            return new ImportStatusResponse(Guid.Empty, ImportStatuses.Completed, result.Imported + result.Failed, result.Imported, result.Failed,
                0, null, result.Errors, now, now, null);
        }
        if (response.StatusCode != HttpStatusCode.Accepted || response.Headers.Location is not { } location)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"POST /api/profiles/import: {(int)response.StatusCode} {response.ReasonPhrase} {body}".TrimEnd());
        }

        await output.WriteLineAsync($"{Name}: following {location.OriginalString}");
        var path = location.OriginalString.TrimStart('/');
        while (true)
        {
            using var poll = await http.GetAsync(path, cancellationToken);
            if (!poll.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"GET {location.OriginalString}: {(int)poll.StatusCode} {poll.ReasonPhrase}");
            }
            var status = (await poll.Content.ReadFromJsonAsync<ImportStatusResponse>(cancellationToken))!;
            if (status.Status != ImportStatuses.Running)
            {
                return status;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    private static async Task<int> ReportAsync(ImportStatusResponse status, TextWriter output)
    {
        var rate = status.RatePerSecond > 0 ? string.Create(CultureInfo.InvariantCulture, $", {status.RatePerSecond:N0} lines/s") : "";
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {status.Status}: {status.Processed:N0} lines, {status.Imported:N0} imported, {status.Failed:N0} failed{rate}"));
        foreach (var error in status.Errors.Take(ErrorsShown))
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  line {error.Line}: {error.Error}"));
        }
        if (status.Failed > ErrorsShown)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  ... and {status.Failed - ErrorsShown:N0} more failed lines"));
        }
        if (status.Reason is not null)
        {
            await output.WriteLineAsync($"{Name}: {status.Reason}");
        }
        return status.Status == ImportStatuses.Completed && status.Failed == 0 ? 0 : 1;
    }
}
