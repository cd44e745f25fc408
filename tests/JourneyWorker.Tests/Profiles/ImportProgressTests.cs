using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using JourneyWorker.Profiles;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Profiles;

/// <summary>Long imports: <c>Prefer: respond-async</c>, the import resource, its progress, and what a restart leaves of it.</summary>
public sealed class ImportProgressTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_long_import_answers_202_with_its_location_and_its_progress_batch_by_batch()
    {
        await using var app = new JourneyWorkerApp().With("Import:BatchSize", "2");
        using var admin = app.Admin();
        var body = new SlowNdjson();
        var posting = PostAsync(admin, body);
        await body.SendAsync(Line("slow-1"), Line("slow-2"), "{\"identities\": {}}", Line("slow-4"));

        using var accepted = await posting;
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.OriginalString;
        Assert.Matches("^/api/imports/[0-9a-f-]{36}$", location);

        // Both batches of two are written while the body is still open: the import shows them.
        var progress = await WaitForAsync(admin, location, s => s.Processed == 4);
        Assert.Equal((ImportStatuses.Running, 3L, 1L), (progress.Status, progress.Imported, progress.Failed));
        var error = Assert.Single(progress.Errors);
        Assert.Equal(3, error.Line);
        Assert.Contains("identity", error.Error, StringComparison.Ordinal);
        await (await admin.GetAsync("/api/profiles/crmId/slow-4", Ct)).OkAsync<ProfileResponse>();

        await body.SendAsync(Line("slow-5"));
        body.End();
        var done = await WaitForAsync(admin, location, s => s.Status != ImportStatuses.Running);
        Assert.Equal((ImportStatuses.Completed, 5L, 4L, 1L), (done.Status, done.Processed, done.Imported, done.Failed));
        Assert.NotNull(done.FinishedAt);
        await (await admin.GetAsync("/api/profiles/crmId/slow-5", Ct)).OkAsync<ProfileResponse>();
    }

    [Fact]
    public async Task An_import_cut_off_by_a_restart_reads_as_interrupted_with_the_lines_it_wrote()
    {
        var folder = Directory.CreateTempSubdirectory("journeyworker-import-").FullName;
        var database = TestDatabase.Create(folder);
        try
        {
            string location;
            var body = new SlowNdjson();
            await using (var first = new JourneyWorkerApp().On(database).With("Import:BatchSize", "3"))
            {
                using var admin = first.Admin();
                var posting = PostAsync(admin, body);
                await body.SendAsync(Line("cut-1"), Line("cut-2"), Line("cut-3"), Line("cut-4"));
                using var accepted = await posting;
                location = accepted.Headers.Location!.OriginalString;
                await WaitForAsync(admin, location, s => s.Processed == 3);
            } // the service stops with the body still open: line 4 was read but never written
            body.Fail();

            await using var second = new JourneyWorkerApp().On(database);
            using var again = second.Admin();
            var status = await (await again.GetAsync(location, Ct)).OkAsync<ImportStatusResponse>();
            Assert.Equal((ImportStatuses.Interrupted, 3L, 3L, 0L), (status.Status, status.Processed, status.Imported, status.Failed));
            Assert.NotNull(status.Reason);
            await (await again.GetAsync("/api/profiles/crmId/cut-3", Ct)).OkAsync<ProfileResponse>();
            Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync("/api/profiles/crmId/cut-4", Ct)).StatusCode);
        }
        finally
        {
            database.Dispose();
        }
    }

    [Fact]
    public async Task An_unknown_import_is_a_404_problem()
    {
        await using var app = new JourneyWorkerApp();
        using var admin = app.Admin();
        var problem = await (await admin.GetAsync($"/api/imports/{Guid.NewGuid()}", Ct)).ProblemAsync(404);
        Assert.Contains("No import", problem.Detail, StringComparison.Ordinal);
        await (await admin.GetAsync("/api/imports/not-an-id", Ct)).ProblemAsync(404);
    }

    [Fact]
    public async Task Without_the_preference_the_import_answers_when_it_is_done()
    {
        await using var app = new JourneyWorkerApp();
        using var content = new StringContent(Line("sync-1") + "\n" + Line("sync-2"), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        var result = await (await app.Admin().PostAsync("/api/profiles/import", content, Ct)).OkAsync<ImportResponse>();
        Assert.Equal((2, 0), (result.Imported, result.Failed));
    }

    private static string Line(string crmId) => $$$"""{"identities": {"crmId": "{{{crmId}}}"}, "attributes": {"source": "import"}}""";

    private static Task<HttpResponseMessage> PostAsync(HttpClient admin, SlowNdjson body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/profiles/import") { Content = body };
        request.Headers.Add("Prefer", "respond-async");
        return admin.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
    }

    private static async Task<ImportStatusResponse> WaitForAsync(HttpClient admin, string location, Func<ImportStatusResponse, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await (await admin.GetAsync(location, Ct)).OkAsync<ImportStatusResponse>();
            if (done(status) || DateTime.UtcNow > deadline)
            {
                Assert.True(done(status), $"The import stayed at {status}.");
                return status;
            }
            await Task.Delay(50, Ct);
        }
    }

    /// <summary>An NDJSON body sent as the test gives its lines, left open until it ends (or fails, as a client gone away).</summary>
    private sealed class SlowNdjson : HttpContent
    {
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();

        public SlowNdjson() => Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");

        public async Task SendAsync(params string[] lines)
        {
            foreach (var line in lines)
            {
                await _lines.Writer.WriteAsync(line, Ct);
            }
        }

        public void End() => _lines.Writer.TryComplete();

        public void Fail() => _lines.Writer.TryComplete(new IOException("The client went away."));

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await foreach (var line in _lines.Reader.ReadAllAsync())
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
