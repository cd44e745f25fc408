using System.Net.Http.Headers;
using System.Text;
using JourneyWorker.Profiles;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Profiles;

public sealed class ProfileImportTests(JourneyWorkerApp app) : IClassFixture<JourneyWorkerApp>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bad_lines_are_reported_by_number_and_good_lines_kept()
    {
        var tooLong = "{\"identities\": {\"crmId\": \"long\"}, \"attributes\": {\"blob\": \"" + new string('x', 70 * 1024) + "\"}}";
        var body = string.Join('\n',
            """{"identities": {"crmId": "imp-1"}, "attributes": {"a": 1}}""",
            """{"identities": {"crmId": "imp-2"}, "attributes": """,
            """{"attributes": {"a": 3}}""",
            tooLong,
            "",
            """{"identities": {"crmId": "imp-6"}}""");
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        var result = await (await app.Admin().PostAsync("/api/profiles/import", content, Ct)).OkAsync<ImportResponse>();

        Assert.Equal(2, result.Imported);
        Assert.Equal(3, result.Failed);
        Assert.Equal([2L, 3L, 4L], result.Errors.Select(e => e.Line));
        Assert.Contains("identity", result.Errors[1].Error, StringComparison.Ordinal);
        Assert.Contains("longer than", result.Errors[2].Error, StringComparison.Ordinal);

        await (await app.Admin().GetAsync("/api/profiles/crmId/imp-1", Ct)).OkAsync<ProfileResponse>();
        await (await app.Admin().GetAsync("/api/profiles/crmId/imp-6", Ct)).OkAsync<ProfileResponse>();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await app.Admin().GetAsync("/api/profiles/crmId/long", Ct)).StatusCode);
    }
}
