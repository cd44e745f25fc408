using JourneyWorker.Infrastructure;
using JourneyWorker.Profiles;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Profiles;

/// <summary>`JourneyWorker import FILE --server URL` against the real host over loopback HTTP.</summary>
public sealed class ImportCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_command_streams_the_file_shows_its_progress_and_reports_the_bad_lines()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false").With("Import:BatchSize", "500");
        using var client = Serve(app);
        var file = Path.Combine(app.DataDirectory, "profiles.ndjson");
        await File.WriteAllLinesAsync(file, Enumerable.Range(1, 2_500).Select(n => n == 1_000
            ? """{"identities": {"crmId": "cli-bad"}, "pushTokens": [{"token": "t"}]}"""
            : $$$"""{"identities": {"crmId": "cli-{{{n}}}"}, "attributes": {"n": {{{n}}}}}"""), Ct);

        using var output = new StringWriter();
        var exit = await ImportCommand.RunAsync(["import", file, "--server", client.BaseAddress!.ToString()], output, client, Ct);

        var text = output.ToString();
        Assert.True(exit == 1, text);
        Assert.Contains("100%", text, StringComparison.Ordinal);
        Assert.Contains("2,500 lines sent", text, StringComparison.Ordinal);
        Assert.Matches(@"following /api/imports/[0-9a-f-]{36}", text);
        Assert.Contains("import: completed: 2,500 lines, 2,499 imported, 1 failed", text, StringComparison.Ordinal);
        Assert.Contains("line 1000: PushTokens[0].Platform", text, StringComparison.Ordinal);
        await using var db = app.Db();
        Assert.Equal(2_499, db.ProfileIdentities.Count(i => i.Namespace == "crmId" && i.Value.StartsWith("cli-")));
    }

    [Fact]
    public async Task A_clean_file_exits_0_and_a_missing_one_or_bad_arguments_exit_2()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        using var client = Serve(app);
        var file = Path.Combine(app.DataDirectory, "clean.ndjson");
        await File.WriteAllTextAsync(file, """{"identities": {"email": "clean@example.com"}}""" + "\n", Ct);

        using (var output = new StringWriter())
        {
            Assert.Equal(0, await ImportCommand.RunAsync(["import", file], output, client, Ct));
            Assert.Contains("completed: 1 lines, 1 imported, 0 failed", output.ToString(), StringComparison.Ordinal);
        }
        using (var output = new StringWriter())
        {
            Assert.Equal(2, await ImportCommand.RunAsync(["import", file + ".missing"], output, client, Ct));
            Assert.Contains("no such file", output.ToString(), StringComparison.Ordinal);
        }
        using (var output = new StringWriter())
        {
            Assert.Equal(2, await ImportCommand.RunAsync(["import"], output, client, Ct));
            Assert.Contains("usage: JourneyWorker import FILE.ndjson --server URL", output.ToString(), StringComparison.Ordinal);
        }
        using (var output = new StringWriter())
        {
            // Without a client of its own the command needs a server URL before it looks for the key.
            Assert.Equal(2, await ImportCommand.RunAsync(["import", file, "--server", "not a url"], output, cancellationToken: Ct));
            Assert.Contains("--server needs the service's base URL", output.ToString(), StringComparison.Ordinal);
        }
    }

    /// <summary>The host on a loopback port, and a client of it with the admin key, as the command makes one from --server.</summary>
    private static HttpClient Serve(JourneyWorkerApp app)
    {
        app.UseKestrel(0);
        app.StartServer();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()
            .Replace("[::]", "localhost", StringComparison.Ordinal);
        var client = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/") };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, JourneyWorkerApp.AdminKey);
        return client;
    }
}
