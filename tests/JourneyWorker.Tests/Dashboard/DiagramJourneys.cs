using System.Text.Json;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>The journeys the diagram is tried on: every example under examples/, and journeys that use every node type.</summary>
public static class DiagramJourneys
{
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "JourneyWorker.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (JourneyWorker.sln) was not found above the test binaries.");
    }

    /// <summary>Every JSON file under examples/ that is a journey (an object with a nodes array).</summary>
    public static IEnumerable<(string Name, JourneyDefinition Journey)> Examples()
    {
        var root = RepositoryRoot();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "examples"), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("nodes", out var nodes) && nodes.ValueKind == JsonValueKind.Array)
            {
                yield return (Path.GetRelativePath(root, file), document.RootElement.Deserialize<JourneyDefinition>(JsonSerializerOptions.Web)!);
            }
        }
    }

    /// <summary>Journeys that between them hold every node type, every kind of exit, and what a draft may hold: a cycle, a self-loop, a missing target.</summary>
    public static IEnumerable<(string Name, JourneyDefinition Journey)> EveryNodeType()
    {
        yield return ("every type and exit from Read Audience", Parse("""
            { "name": "Everything", "start": "read", "nodes": [
              { "id": "read", "type": "readAudience", "audience": "a", "schedule": { "frequency": "daily" }, "next": "split" },
              { "id": "split", "type": "condition", "branches": [
                  { "when": "profile.homeAddress.city = \"Seattle\" and profile.person.birthYear > 1980", "next": "mail" },
                  { "percent": 25, "next": "hook" } ], "otherwise": "wait" },
              { "id": "mail", "type": "email", "subject": "Hi <b>{{profile.name}}</b>", "html": "<p>x</p>", "next": "opened", "errorNext": "hook", "cappedNext": "wait" },
              { "id": "opened", "type": "reaction", "action": "mail", "reaction": "emailOpened", "timeout": "P1D", "timeoutNext": "push", "next": "buy" },
              { "id": "buy", "type": "event", "event": "purchase", "timeout": "P2D", "timeoutNext": "end", "next": "update" },
              { "id": "push", "type": "push", "title": "Hey", "body": "b", "next": "end", "errorNext": "end" },
              { "id": "hook", "type": "webhook", "url": "https://hooks.example.com/x", "next": "wait", "errorNext": "end" },
              { "id": "wait", "type": "wait", "duration": "PT1H", "next": "update" },
              { "id": "update", "type": "updateProfile", "set": { "loyalty.tier": "gold" }, "next": "jump" },
              { "id": "jump", "type": "jump", "journey": "00000000-0000-0000-0000-000000000001" },
              { "id": "end", "type": "end" } ] }
            """));
        yield return ("journey entry", Parse("""
            { "name": "Entered by a jump", "start": "in", "nodes": [
              { "id": "in", "type": "journeyEntry", "next": "later" },
              { "id": "later", "type": "wait", "until": "2026-04-01T09:00:00Z", "next": "morning" },
              { "id": "morning", "type": "wait", "until": { "time": "09:00", "timeZone": "profile" }, "next": "done" },
              { "id": "done", "type": "end" } ] }
            """));
        yield return ("audience qualification entry", Parse("""
            { "name": "Qualified", "start": "qualifies", "nodes": [
              { "id": "qualifies", "type": "audienceQualification", "audience": "a", "on": "enter", "next": "welcome" },
              { "id": "welcome", "type": "email", "subject": "Welcome", "html": "<p>x</p>", "next": "done" },
              { "id": "done", "type": "end" } ] }
            """));
        yield return ("event entry with a cycle, a self-loop and a missing target", Parse("""
            { "name": "Draft", "start": "signup", "nodes": [
              { "id": "signup", "type": "event", "event": "signup", "next": "ask" },
              { "id": "ask", "type": "email", "subject": "s", "html": "h", "next": "again" },
              { "id": "again", "type": "condition", "branches": [ { "when": "profile.x = 1", "next": "ask" } ], "otherwise": "loop" },
              { "id": "loop", "type": "wait", "duration": "PT1M", "next": "loop", "errorNext": "nowhere" } ] }
            """));
    }

    public static JourneyDefinition Parse(string json) => JsonSerializer.Deserialize<JourneyDefinition>(json, JsonSerializerOptions.Web)!;
}
