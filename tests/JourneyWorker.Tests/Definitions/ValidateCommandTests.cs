namespace JourneyWorker.Tests.Definitions;

/// <summary>`JourneyWorker validate` offline: the API's codes, one line per problem, references checked against the folder.</summary>
public sealed class ValidateCommandTests
{
    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task The_committed_example_is_valid()
    {
        var (exit, output) = await ExampleFolder.ValidateAsync(ExampleFolder.Committed);
        Assert.True(exit == 0, output);
        Assert.Equal(["validate: 3 definitions checked, no errors, 0 warnings."], Lines(output));
    }

    [Fact]
    public async Task A_broken_reference_an_unknown_node_type_and_bad_files_fail_with_the_api_codes()
    {
        using var folder = ExampleFolder.Copy();
        folder.Edit(ExampleFolder.JourneyFile, $"\"audience\": \"{ExampleFolder.AudienceName}\"", "\"audience\": \"Nobody\"");
        folder.Edit(ExampleFolder.JourneyFile, "\"type\": \"push\"", "\"type\": \"sms\"");
        folder.Write("audiences/bad-rule.json", """{"name": "Bad", "rule": "city ="}""");
        folder.Write("event-configs/not-json.json", "{\n  \"name\": purchase\n}");
        folder.Write("journeys/jumps.json", """
            { "name": "Jumps", "start": "e", "exit": [ { "event": "refund" } ],
              "nodes": [ { "id": "e", "type": "event", "event": "purchase", "next": "j" }, { "id": "j", "type": "jump", "journey": "Jumps", "next": "k" },
                         { "id": "k", "type": "jump", "journey": "Multi-channel" } ] }
            """);
        folder.Write("journeys/zz-copy.json", """{ "name": "Jumps", "start": "x", "nodes": [] }""");

        var (exit, output) = await ExampleFolder.ValidateAsync(folder.Path);
        Assert.Equal(1, exit);
        var lines = Lines(output);
        Assert.Contains("audiences/bad-rule.json: rule: error request.invalid: Expected a value (a path, a literal, a function call or '(') at position 6", lines);
        Assert.Contains("event-configs/not-json.json: line 2, column 11: error json.invalid: 'p' is an invalid start of a value.", lines);
        Assert.Contains("journeys/zz-copy.json: name: error name.duplicate: 'Jumps' is also the name in journeys/jumps.json: a name identifies one definition.", lines);
        Assert.Contains("journeys/jumps.json: journey: error exit.eventUnknown: Exit criterion #0 names event 'refund', which is not configured.", lines);
        Assert.Contains("journeys/jumps.json: j: error jump.self: Node 'j' jumps into its own journey: a profile is never in a journey twice at once.", lines);
        // The jump target is found by name in the folder (and read: it does not start with journeyEntry).
        Assert.Contains(lines, l => l.StartsWith("journeys/jumps.json: k: error jump.targetNotJourneyEntry: Node 'k' jumps into journey 'Multi-channel', whose live version starts with readAudience", StringComparison.Ordinal));
        Assert.Contains("journeys/multi-channel.json: read: error audience.unknown: Node 'read' names audience 'Nobody', which does not exist.", lines);
        Assert.Contains(lines, l => l.StartsWith("journeys/multi-channel.json: thanks: error node.typeUnknown: Unknown node type 'sms'", StringComparison.Ordinal));
        Assert.Equal("validate: 8 errors, 0 warnings.", lines[^1]);

        // One file of the folder: checked against the folder, only its own problems reported.
        var (fileExit, fileOutput) = await ExampleFolder.ValidateAsync(folder.File("journeys/jumps.json"));
        Assert.Equal(1, fileExit);
        Assert.All(Lines(fileOutput)[..^1], l => Assert.StartsWith("journeys/jumps.json: ", l, StringComparison.Ordinal));
        Assert.Equal("validate: 3 errors, 0 warnings.", Lines(fileOutput)[^1]);
    }

    [Fact]
    public async Task A_journey_file_on_its_own_resolves_no_reference_and_webhook_hosts_come_from_the_configuration()
    {
        using var folder = ExampleFolder.Empty();
        folder.Write("hook.json", """
            { "name": "Hook", "start": "e",
              "nodes": [ { "id": "e", "type": "event", "event": "purchase", "next": "h" }, { "id": "h", "type": "webhook", "url": "https://hooks.example.com/x" } ] }
            """);
        var file = folder.File("hook.json");

        var (exit, output) = await ExampleFolder.ValidateAsync(file);
        Assert.Equal(1, exit);
        Assert.Contains($"{file}: e: error event.unknown: Node 'e' names event 'purchase', which is not configured.", Lines(output));
        Assert.Contains(Lines(output), l => l.StartsWith($"{file}: h: error webhook.hostNotAllowed:", StringComparison.Ordinal));

        var (allowed, allowedOutput) = await ExampleFolder.ValidateAsync(file, "--Webhooks:AllowedHosts:0=hooks.example.com");
        Assert.Equal(1, allowed);
        Assert.DoesNotContain("webhook.hostNotAllowed", allowedOutput, StringComparison.Ordinal);
        Assert.Equal("validate: 1 errors, 0 warnings.", Lines(allowedOutput)[^1]);

        var (missing, missingOutput) = await ExampleFolder.ValidateAsync(folder.File("nothing.json"));
        Assert.Equal(2, missing);
        Assert.Contains("validate: no file or folder at", missingOutput, StringComparison.Ordinal);
        var (empty, emptyOutput) = await ExampleFolder.ValidateAsync(folder.Path);
        Assert.Equal(1, empty);
        Assert.Contains("error folder.empty:", emptyOutput, StringComparison.Ordinal);
    }
}
