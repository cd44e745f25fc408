using System.Text.Json.Nodes;
using JourneyWorker.Definitions;
using JourneyWorker.Tests.Runtime;

namespace JourneyWorker.Tests.Definitions;

/// <summary>`JourneyWorker simulate` offline: the committed example folder, the seed profiles from a file, the API's answer printed.</summary>
public sealed class SimulateCommandTests
{
    private static async Task<(int ExitCode, string Output)> SimulateAsync(params string[] args)
    {
        using var output = new StringWriter();
        var exit = await SimulateCommand.RunAsync(["simulate", .. args], output, TestContext.Current.CancellationToken);
        return (exit, output.ToString());
    }

    [Fact]
    public async Task The_example_folder_runs_for_the_profiles_of_a_file_in_its_audience()
    {
        using var folder = ExampleFolder.Copy();
        folder.Write("profiles.ndjson", SeedJourneyTests.Profiles);
        folder.Write("request.json", """
            {"seed": 3, "horizon": "P30D", "reactions": {"emailOpened": 1},
             "events": [{"at": "P2D", "profile": "email:ann@example.com", "payload": {"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "Shoes"}}]}
            """);

        var (exit, output) = await SimulateAsync(folder.Path, "--profiles", folder.File("profiles.ndjson"), "--request", folder.File("request.json"));
        Assert.True(exit == 0, output);
        var result = JsonNode.Parse(output)!;
        // Ann, Bob, Eve and Fay are in the audience; Eve withdrew e-mail consent; everyone mailed opens; only Ann buys and has a device.
        Assert.Equal(4, result["profiles"]!.GetValue<int>());
        Assert.Equal("""{"entered":4,"succeeded":3,"failed":0,"timedOut":0,"skipped":1}""", result["nodes"]!["first"]!.ToJsonString());
        Assert.Equal(3, result["nodes"]!["opened"]!["succeeded"]!.GetValue<int>());
        Assert.Equal(1, result["nodes"]!["thanks"]!["succeeded"]!.GetValue<int>());
        // Eve's reaction wait times out and her follow-up is skipped too: three e-mails in all.
        Assert.Equal(1, result["nodes"]!["followUp"]!["skipped"]!.GetValue<int>());
        Assert.Equal("""{"email":3,"push":1,"webhook":0}""", result["messages"]!.ToJsonString());
        Assert.Equal(2, result["waitingAtHorizon"]!.GetValue<int>()); // Bob and Fay still wait for a purchase

        // The journey file alone in its folder is the same journey.
        var (fileExit, fileOutput) = await SimulateAsync(folder.File(ExampleFolder.JourneyFile), "--profiles", folder.File("profiles.ndjson"),
            "--request", folder.File("request.json"));
        Assert.True(fileExit == 0, fileOutput);
        Assert.Equal(result.ToJsonString(), JsonNode.Parse(fileOutput)!.ToJsonString());
    }

    [Fact]
    public async Task Bad_profiles_a_bad_request_and_a_missing_argument_are_named()
    {
        using var folder = ExampleFolder.Copy();
        folder.Write("profiles.ndjson", """
            {"identities": {"email": "ann@example.com"}, "attributes": {}}
            {"attributes": {"city": "Seattle"}}
            not json
            """);
        var (exit, output) = await SimulateAsync(folder.Path, "--profiles", folder.File("profiles.ndjson"));
        Assert.Equal(1, exit);
        Assert.Contains("profiles.ndjson:2: A profile needs at least one identity", output, StringComparison.Ordinal);
        Assert.Contains("profiles.ndjson:3: not JSON", output, StringComparison.Ordinal);

        folder.Write("profiles.ndjson", SeedJourneyTests.Profiles);
        folder.Write("request.json", """{"reactions": {"pushOpened": 2}}""");
        (exit, output) = await SimulateAsync(folder.Path, "--profiles", folder.File("profiles.ndjson"), "--request", folder.File("request.json"));
        Assert.Equal(1, exit);
        Assert.Contains("request.json: reactions.pushOpened: 'reactions.pushOpened' must be a share between 0 and 1.", output, StringComparison.Ordinal);

        folder.Write("request.json", """{"events": [{"at": "PT1H", "profile": "email:zed@example.com", "payload": {"purchaseMessage": "thank you"}}]}""");
        (exit, output) = await SimulateAsync(folder.Path, "--profiles", folder.File("profiles.ndjson"), "--request", folder.File("request.json"));
        Assert.Equal(1, exit);
        Assert.Contains("events[0].profile: No simulated profile has the identity 'email:zed@example.com'.", output, StringComparison.Ordinal);

        (exit, output) = await SimulateAsync(folder.Path);
        Assert.Equal(2, exit);
        Assert.Contains("usage: JourneyWorker simulate", output, StringComparison.Ordinal);
    }
}
