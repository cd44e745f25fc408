using JourneyWorker.Data;
using JourneyWorker.Definitions;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Definitions;

/// <summary>`JourneyWorker export`, export then apply, jumps named by journey name, and the command over real HTTP.</summary>
public sealed class ExportCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Written in the order of their files, the router comes first, although it can only be stored once VIP has an id.
    private const string Router = """
        { "name": "Router", "start": "signup",
          "nodes": [ { "id": "signup", "type": "event", "event": "purchase", "next": "vip" }, { "type": "jump", "id": "vip", "journey": "VIP" } ] }
        """;

    private const string Vip = """
        { "name": "VIP", "start": "in",
          "nodes": [ { "id": "in", "type": "journeyEntry", "next": "hello" }, { "id": "hello", "type": "push", "title": "Hi", "body": "VIP" } ] }
        """;

    [Fact]
    public async Task Export_writes_the_folder_format_with_names_and_applying_the_export_changes_nothing()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        var client = app.Admin();
        using var folder = ExampleFolder.Copy();
        folder.Write("journeys/a-router.json", Router);
        folder.Write("journeys/z-vip.json", Vip);
        var (applied, output) = await ExampleFolder.ApplyAsync(client, folder.Path, "--publish");
        Assert.True(applied == 0, output);
        await using (var db = app.Db())
        {
            var vip = await db.Journeys.SingleAsync(j => j.Name == "VIP", Ct);
            var router = await db.Journeys.SingleAsync(j => j.Name == "Router", Ct);
            var stored = CompiledJourney.Parse((await db.JourneyVersions.SingleAsync(v => v.JourneyId == router.Id, Ct)).Definition);
            Assert.Equal(vip.Id.ToString(), stored.Nodes!.Single(n => n.Id == "vip").Journey);
            Assert.Equal(3, await db.JourneyVersions.CountAsync(v => v.Status == JourneyStatus.Live, Ct));
        }

        using var exported = ExampleFolder.Empty();
        var (exit, exportOutput) = await ExampleFolder.ExportAsync(client, exported.Path);
        Assert.True(exit == 0, exportOutput);
        Assert.Contains("export: 5 written, 0 unchanged", exportOutput, StringComparison.Ordinal);
        // The committed example is in the export format, byte for byte: export of what apply stored gives it back.
        foreach (var kind in DefinitionFolder.Kinds)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(ExampleFolder.Committed, kind)))
            {
                Assert.Equal(await File.ReadAllTextAsync(file, Ct), exported.Read($"{kind}/{Path.GetFileName(file)}"));
            }
        }
        Assert.Contains("\"journey\": \"VIP\"", exported.Read("journeys/router.json"), StringComparison.Ordinal);
        Assert.True(File.Exists(exported.File("journeys/vip.json")));

        var (again, plan) = await ExampleFolder.ApplyAsync(client, exported.Path, "--publish");
        Assert.Equal(0, again);
        Assert.Contains("plan: 0 to create, 0 to update, 5 unchanged, 0 to publish", plan, StringComparison.Ordinal);

        // A second export into the same folder finds every file as it is; a file the server knows nothing of is kept.
        exported.Write("audiences/old.json", """{"name": "Old", "rule": "a = 1"}""");
        var (_, second) = await ExampleFolder.ExportAsync(client, exported.Path);
        Assert.Contains("export: 0 written, 5 unchanged", second, StringComparison.Ordinal);
        Assert.Contains("kept       audiences/old.json: 'Old' is not on the server", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_commands_reach_the_server_over_http_with_the_admin_key_from_the_environment()
    {
        await using var app = new JourneyWorkerApp().With("Runtime:Enabled", "false");
        app.UseKestrel(0);
        app.StartServer();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()
            .Replace("[::]", "localhost", StringComparison.Ordinal);
        using var folder = ExampleFolder.Copy();
        using var exported = ExampleFolder.Empty();

        // Only the tests of this class read the variable, and a class runs its tests one after the other.
        var previous = Environment.GetEnvironmentVariable(CommandArguments.AdminKeyVariable);
        try
        {
            Environment.SetEnvironmentVariable(CommandArguments.AdminKeyVariable, null);
            using (var output = new StringWriter())
            {
                Assert.Equal(2, await ApplyCommand.RunAsync(["apply", folder.Path, "--server", address], output, cancellationToken: Ct));
                Assert.Contains("set JOURNEYWORKER_ADMIN_KEY to the admin API key", output.ToString(), StringComparison.Ordinal);
            }

            Environment.SetEnvironmentVariable(CommandArguments.AdminKeyVariable, "not-the-key");
            using (var output = new StringWriter())
            {
                Assert.Equal(1, await ApplyCommand.RunAsync(["apply", folder.Path, $"--server={address}"], output, cancellationToken: Ct));
                Assert.Contains("GET /api/audiences: 401 Unauthorized", output.ToString(), StringComparison.Ordinal);
            }

            Environment.SetEnvironmentVariable(CommandArguments.AdminKeyVariable, JourneyWorkerApp.AdminKey);
            using (var output = new StringWriter())
            {
                Assert.Equal(0, await ApplyCommand.RunAsync(["apply", folder.Path, "--server", address], output, cancellationToken: Ct));
                Assert.Contains("created    journey \"Multi-channel\"", output.ToString(), StringComparison.Ordinal);
            }
            using (var output = new StringWriter())
            {
                Assert.Equal(0, await ExportCommand.RunAsync(["export", "--server", address, exported.Path], output, cancellationToken: Ct));
            }
            Assert.Equal(folder.Read(ExampleFolder.JourneyFile), exported.Read(ExampleFolder.JourneyFile));
        }
        finally
        {
            Environment.SetEnvironmentVariable(CommandArguments.AdminKeyVariable, previous);
        }
    }
}
