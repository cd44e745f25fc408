using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.OpenApi;

/// <summary>A client generated from the served document is the one the client tests compile against.</summary>
public sealed class GeneratedClientTests : IClassFixture<JourneyWorkerApp>
{
    private readonly JourneyWorkerApp _app;

    public GeneratedClientTests(JourneyWorkerApp app) => _app = app;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_kept_client_is_what_the_served_document_generates()
    {
        var document = await _app.WithKey(null).GetStringAsync("/swagger/v1/swagger.json", Ct);
        var generated = await ClientGeneration.GenerateAsync(document);
        var file = ClientGeneration.SourceFile();
        if (Environment.GetEnvironmentVariable("JOURNEYWORKER_UPDATE_CLIENT") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, generated, Ct);
        }
        var kept = File.Exists(file) ? (await File.ReadAllTextAsync(file, Ct)).ReplaceLineEndings("\n") : "";
        Assert.True(kept == generated,
            $"The generated client in {file} is not what the served OpenAPI document generates now. Run the test again with " +
            "JOURNEYWORKER_UPDATE_CLIENT=1 to write it, rebuild, and commit the file.");
    }
}
