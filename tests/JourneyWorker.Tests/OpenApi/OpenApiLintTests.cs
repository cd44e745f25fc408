using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.OpenApi;

/// <summary>
/// The document the real host serves passes Redocly's recommended rules (redocly.yaml at the repository root) with no
/// error and no warning. Needs Node.js (npx fetches the pinned Redocly CLI from the npm registry once); .ci/run installs
/// Debian's nodejs and npm where they are missing. Outside CI, a machine without npx skips this test.
/// </summary>
public sealed class OpenApiLintTests : IClassFixture<JourneyWorkerApp>
{
    public const string Redocly = "@redocly/cli@2.77.0";

    private readonly JourneyWorkerApp _app;

    public OpenApiLintTests(JourneyWorkerApp app) => _app = app;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_served_document_passes_redocly_recommended_rules_without_errors_or_warnings()
    {
        var document = await _app.WithKey(null).GetStringAsync("/swagger/v1/swagger.json", Ct);
        var folder = Directory.CreateTempSubdirectory("journeyworker-openapi-").FullName;
        try
        {
            var file = Path.Combine(folder, "swagger.json");
            await File.WriteAllTextAsync(file, document, Ct);
            var (exit, output, errors) = await RunAsync("npx", ["--yes", Redocly, "lint", "--config", RepositoryFile("redocly.yaml"), "--format=json", file]);
            var report = JsonNode.Parse(output) ?? throw new InvalidOperationException($"redocly printed no report (exit {exit}): {errors}");
            var problems = report["problems"]!.AsArray()
                .Select(p => $"{p!["severity"]} {p["ruleId"]} at {p["location"]![0]!["pointer"]}: {p["message"]}")
                .ToList();
            Assert.True(problems.Count == 0, "redocly lint found:\n" + string.Join('\n', problems));
            Assert.Equal((0, 0), (report["totals"]!["errors"]!.GetValue<int>(), report["totals"]!["warnings"]!.GetValue<int>()));
            Assert.Equal(0, exit);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string RepositoryFile(string name, [System.Runtime.CompilerServices.CallerFilePath] string here = "")
    {
        for (var folder = Path.GetDirectoryName(here); folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (File.Exists(Path.Combine(folder, name)) && File.Exists(Path.Combine(folder, "JourneyWorker.sln")))
            {
                return Path.Combine(folder, name);
            }
        }
        throw new FileNotFoundException($"{name} is not at the repository root above {here}.");
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // No telemetry, no update check: the lint only reads the file.
        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        start.Environment["NO_UPDATE_NOTIFIER"] = "1";
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception) when (Environment.GetEnvironmentVariable("CI") != "true")
        {
            Assert.Skip("npx (Node.js) is not installed here; CI installs it and runs this lint.");
            throw;
        }
        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(5));
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var errors = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            return (process.ExitCode, await output, await errors);
        }
    }
}
