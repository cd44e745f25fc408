using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;
using JourneyWorker.Runtime;
using JourneyWorker.Simulation;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Definitions;

/// <summary>
/// `JourneyWorker simulate DIR|FILE --profiles FILE.ndjson`: POST /api/journeys/{id}/simulate without a server. The
/// definitions and the profiles go into a database of the command's own, in memory, and the simulation runs on them as
/// on a server that holds exactly those; the answer is printed as the API gives it. Exit code 1 when the journey or an
/// input is not valid, 2 on usage.
/// </summary>
public static class SimulateCommand
{
    public const string Name = "simulate";

    private const string Usage = """
        usage: JourneyWorker simulate DIR|FILE --profiles FILE.ndjson [--journey NAME] [--request FILE.json] [--Key=Value ...]

        Simulates a journey of a definitions folder (audiences/*.json, event-configs/*.json, journeys/*.json) on a
        virtual clock for the profiles of FILE.ndjson (one profile a line, as POST /api/profiles/import takes them),
        sending nothing. DIR with more than one journey needs --journey NAME; a FILE inside such a folder is that
        journey; any other FILE is a journey on its own. A journey that reads an audience of the folder runs for the
        profiles of the file in that audience; any other for every profile of the file.

        --request FILE.json holds the rest of the API's request: {"horizon": "P91D", "seed": 1, "limit": 10000,
        "reactions": {"emailOpened": 0.3, "emailClicked": 0.1, "pushOpened": 0.2}, "events": [{"at": "PT2H",
        "profile": "email:ann@example.com" | "*", "share": 0.5, "payload": {...}}]}.

        Prints the answer of POST /api/journeys/{id}/simulate as JSON. Reads the same configuration as the service
        (appsettings.json, environment, --Key=Value) for Journeys:DefaultTimeZone and Webhooks:AllowedHosts.
        """;

    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == Name;

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        var rest = args.Skip(1).ToList();
        if (CommandArguments.WantsHelp(rest))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        var profilesFile = CommandArguments.TakeOption(rest, "--profiles");
        var journeyName = CommandArguments.TakeOption(rest, "--journey");
        var requestFile = CommandArguments.TakeOption(rest, "--request");
        var targets = rest.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (targets.Count != 1 || profilesFile is null)
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }
        rest.Remove(targets[0]);
        foreach (var file in new[] { profilesFile, requestFile }.OfType<string>().Where(f => !File.Exists(f)))
        {
            await output.WriteLineAsync($"{Name}: no file at {file}");
            return 2;
        }

        var (folder, journeyFile) = await LoadAsync(targets[0], journeyName, output, cancellationToken);
        if (folder is null)
        {
            return 2;
        }
        var request = requestFile is null ? new SimulationRequest(null, null, null, null, null, null) : await ReadRequestAsync(requestFile, output, cancellationToken);
        if (request is null)
        {
            return 1;
        }
        var profiles = await ReadProfilesAsync(profilesFile, output, cancellationToken);
        if (profiles is null)
        {
            return 1;
        }

        using var host = SimulationHost.Build([.. rest]);
        var webhooks = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<WebhookOptions>>().Value;
        var problems = (await OfflineValidation.ValidateAsync(folder, webhooks, cancellationToken))
            .Where(p => !p.IsWarning && (p.File == journeyFile.File || !p.File.StartsWith(DefinitionFolder.JourneysFolder + "/", StringComparison.Ordinal)))
            .ToList();
        if (problems.Count > 0)
        {
            await ApplyCommand.WriteProblemsAsync(output, problems);
            await output.WriteLineAsync($"{Name}: the journey has errors (`JourneyWorker validate` checks it); nothing was simulated.");
            return 1;
        }

        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync(cancellationToken);
        await using var db = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite(connection).Options);
        await db.Database.EnsureCreatedAsync(cancellationToken);
        var time = host.Services.GetRequiredService<TimeProvider>();
        var journeyId = await SeedAsync(db, folder, journeyFile.Definition, profiles, time.GetUtcNow(), cancellationToken);

        var journey = (await SimulationSetup.JourneyAsync(db, journeyId, cancellationToken))!;
        if (request.Profiles is null && journey.Start is not { Type: NodeTypes.ReadAudience or NodeTypes.AudienceQualification })
        {
            // No audience to read: the file's profiles are the ones to simulate.
            request = request with { Profiles = new JsonArray([.. profiles.Select(p => JsonSerializer.SerializeToNode(p, JsonSerializerOptions.Web))]) };
        }
        var (input, errors) = await SimulationSetup.LoadAsync(db, journey, request, time.GetUtcNow(), cancellationToken);
        if (input is null)
        {
            foreach (var (field, messages) in errors!)
            {
                foreach (var message in messages)
                {
                    await output.WriteLineAsync($"{requestFile ?? profilesFile}: {field}: {message}");
                }
            }
            return 1;
        }
        var result = SimulationServices.Simulator(host.Services).Run(input, cancellationToken);
        await output.WriteLineAsync(JsonSerializer.Serialize(result, new JsonSerializerOptions(JsonSerializerOptions.Web) { WriteIndented = true }));
        return 0;
    }

    private static async Task<(DefinitionFolder? Folder, DefinitionFile<JourneyDefinition> Journey)> LoadAsync(
        string target, string? journeyName, TextWriter output, CancellationToken cancellationToken)
    {
        DefinitionFolder folder;
        string? only = null;
        if (Directory.Exists(target))
        {
            folder = await DefinitionFolder.LoadAsync(target, cancellationToken);
        }
        else if (File.Exists(target))
        {
            var full = Path.GetFullPath(target);
            if (Path.GetFileName(Path.GetDirectoryName(full)) == DefinitionFolder.JourneysFolder)
            {
                folder = await DefinitionFolder.LoadAsync(Path.GetDirectoryName(Path.GetDirectoryName(full))!, cancellationToken);
                only = $"{DefinitionFolder.JourneysFolder}/{Path.GetFileName(full)}";
            }
            else
            {
                folder = await DefinitionFolder.LoadJourneyAsync(target, cancellationToken);
            }
        }
        else
        {
            await output.WriteLineAsync($"{Name}: no file or folder at {target}");
            return (null, null!);
        }

        var candidates = folder.Journeys.Where(j => (only is null || j.File == only) && (journeyName is null || j.Definition.Name == journeyName)).ToList();
        if (candidates.Count != 1)
        {
            await ApplyCommand.WriteProblemsAsync(output, folder.Problems);
            await output.WriteLineAsync(candidates.Count == 0
                ? $"{Name}: no journey{(journeyName is null ? "" : $" named '{journeyName}'")} in {target}."
                : $"{Name}: {target} holds {candidates.Count} journeys ({string.Join(", ", candidates.Select(c => c.Definition.Name))}): name one with --journey NAME.");
            return (null, null!);
        }
        return (folder, candidates[0]);
    }

    private static async Task<SimulationRequest?> ReadRequestAsync(string file, TextWriter output, CancellationToken cancellationToken)
    {
        SimulationRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<SimulationRequest>(await File.ReadAllTextAsync(file, cancellationToken), JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            await output.WriteLineAsync($"{file}: not a simulation request: {e.Message}");
            return null;
        }
        if (request is null)
        {
            await output.WriteLineAsync($"{file}: not a simulation request (null).");
            return null;
        }
        var result = await new SimulationRequestValidator().ValidateAsync(request, cancellationToken);
        foreach (var error in result.Errors)
        {
            await output.WriteLineAsync($"{file}: {error.PropertyName}: {error.ErrorMessage}");
        }
        return result.IsValid ? request : null;
    }

    private static async Task<List<ProfileRequest>?> ReadProfilesAsync(string file, TextWriter output, CancellationToken cancellationToken)
    {
        var profiles = new List<ProfileRequest>();
        var bad = 0;
        var number = 0;
        foreach (var line in await File.ReadAllLinesAsync(file, cancellationToken))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(line);
            }
            catch (JsonException e)
            {
                node = null;
                await output.WriteLineAsync($"{file}:{number}: not JSON: {e.Message}");
                bad++;
                continue;
            }
            var problems = SimulationRequestValidator.ProfileProblems(node).ToList();
            foreach (var problem in problems)
            {
                await output.WriteLineAsync($"{file}:{number}: {problem}");
            }
            if (problems.Count > 0)
            {
                bad++;
                continue;
            }
            profiles.Add(node.Deserialize<ProfileRequest>(JsonSerializerOptions.Web)!);
        }
        return bad > 0 ? null : profiles;
    }

    /// <summary>The folder's audiences and event configurations, the journey (references by name turned into ids) and the profiles.</summary>
    private static async Task<Guid> SeedAsync(
        JourneyDbContext db, DefinitionFolder folder, JourneyDefinition journey, List<ProfileRequest> profiles, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var audiences = OfflineValidation.AddAudiencesAndEventConfigs(db, folder);
        var journeyId = Guid.CreateVersion7();
        var definition = JourneyReferences.Map(journey, a => audiences.TryGetValue(a.Trim(), out var id) ? id.ToString() : a, j => j);
        db.Journeys.Add(new Journey
        {
            Id = journeyId,
            Name = journey.Name!,
            Versions = [new JourneyVersion
            {
                Id = Guid.CreateVersion7(),
                JourneyId = journeyId,
                Version = 1,
                Status = JourneyStatus.Draft,
                Definition = JsonSerializer.Serialize(definition, JsonSerializerOptions.Web),
                CreatedAt = now.UtcDateTime,
                UpdatedAt = now.UtcDateTime,
            }],
        });
        foreach (var profile in profiles.Select(p => SimulationSetup.ToProfile(p, 0, now)))
        {
            profile.PushTokens.ForEach(t => t.Id = 0); // the database numbers them
            db.Profiles.Add(profile);
        }
        await db.SaveChangesAsync(cancellationToken);
        return journeyId;
    }
}
