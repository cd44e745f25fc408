namespace JourneyWorker.Definitions;

/// <summary>
/// `JourneyWorker apply DIR --server URL [--dry-run] [--publish]`: makes the server hold what a definitions folder holds.
/// It shows the plan (create, update with a diff, unchanged), then applies it through the admin API. Applying the same
/// folder again changes nothing. Exit code 0 when the plan was applied (or only shown), 1 on a problem, 2 on usage.
/// </summary>
public static class ApplyCommand
{
    public const string Name = "apply";

    private const string Usage = """
        usage: JourneyWorker apply DIR --server URL [--dry-run] [--publish]

        Makes the JourneyWorker at URL hold the definitions of DIR: audiences/*.json, event-configs/*.json and
        journeys/*.json, one definition a file, each identified by its name. A journey names its audiences
        (readAudience, audienceQualification) and the journeys it jumps into by name; apply puts in the ids.

        Prints the plan first: what is created, what is updated (with a diff: '-' the server, '+' the folder) and
        what is unchanged; then applies it. A journey whose version is live is never edited: the change becomes a
        new draft version. Definitions on the server that the folder does not hold are left alone.

          --dry-run   only print the plan
          --publish   publish the journeys that are created or changed (and drafts that already match the folder)

        The admin API key is read from the environment variable JOURNEYWORKER_ADMIN_KEY.
        example: JOURNEYWORKER_ADMIN_KEY=... JourneyWorker apply definitions/ --server https://journeys.internal --dry-run
        """;

    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == Name;

    /// <summary>Runs the command; <paramref name="client"/>, when given, is used instead of one made from --server and the environment.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, HttpClient? client = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        var rest = args.Skip(1).ToList();
        if (CommandArguments.WantsHelp(rest))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        var server = CommandArguments.TakeOption(rest, "--server");
        var dryRun = CommandArguments.TakeFlag(rest, "--dry-run");
        var publish = CommandArguments.TakeFlag(rest, "--publish");
        if (rest.Count != 1 || rest[0].StartsWith("--", StringComparison.Ordinal))
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }
        var directory = rest[0];
        if (!Directory.Exists(directory))
        {
            await output.WriteLineAsync($"{Name}: no folder at {directory}");
            return 2;
        }
        using var owned = client is null ? await CommandArguments.ClientAsync(Name, server, output) : null;
        var http = client ?? owned;
        if (http is null)
        {
            return 2;
        }

        var folder = await DefinitionFolder.LoadAsync(directory, cancellationToken);
        if (folder.HasErrors)
        {
            await WriteProblemsAsync(output, folder.Problems);
            await output.WriteLineAsync($"{Name}: {directory} has errors (`JourneyWorker validate {directory}` checks it); nothing was applied.");
            return 1;
        }

        var api = new DefinitionsApi(http);
        try
        {
            var plan = ApplyPlan.Make(folder, await api.ReadAsync(cancellationToken), publish);
            await WritePlanAsync(output, directory, http.BaseAddress, plan);
            if (plan.Problems.Count > 0)
            {
                await WriteProblemsAsync(output, plan.Problems);
                await output.WriteLineAsync($"{Name}: the plan has errors; nothing was applied.");
                return 1;
            }
            if (dryRun || !plan.HasWork)
            {
                await output.WriteLineAsync(dryRun ? $"{Name}: dry run, nothing was changed." : $"{Name}: nothing to change.");
                return 0;
            }
            await plan.ExecuteAsync(api, output, cancellationToken);
        }
        catch (DefinitionsApiException e)
        {
            await output.WriteLineAsync($"{Name}: stopped: {e.Message}");
            await output.WriteLineAsync($"{Name}: what was applied before this stays; apply again once it is fixed.");
            return 1;
        }
        await output.WriteLineAsync($"{Name}: done.");
        return 0;
    }

    private static async Task WritePlanAsync(TextWriter output, string directory, Uri? server, ApplyPlan plan)
    {
        await output.WriteLineAsync($"plan: {directory} -> {server}");
        foreach (var change in plan.Changes)
        {
            var verb = change.Change.ToString().ToLowerInvariant();
            var id = change.Id is { } known ? $" id {known}" : "";
            var note = change.Note is null ? "" : $": {change.Note}";
            await output.WriteLineAsync($"  {verb,-9}  {change.Kind} \"{change.Name}\" ({change.File}){id}{note}");
            foreach (var line in change.Diff)
            {
                await output.WriteLineAsync("      " + line);
            }
        }
        var counts = plan.Changes.GroupBy(c => c.Change).ToDictionary(g => g.Key, g => g.Count());
        var published = plan.Publish ? plan.Journeys.Count(j => j.Change.Change != ChangeKind.Unchanged) : 0;
        await output.WriteLineAsync($"plan: {counts.GetValueOrDefault(ChangeKind.Create)} to create, {counts.GetValueOrDefault(ChangeKind.Update)} to update, "
            + $"{counts.GetValueOrDefault(ChangeKind.Unchanged)} unchanged, {published} to publish");
    }

    internal static async Task WriteProblemsAsync(TextWriter output, IEnumerable<DefinitionProblem> problems)
    {
        foreach (var problem in problems)
        {
            await output.WriteLineAsync(problem.ToString());
        }
    }
}
