using JourneyWorker.Channels.Webhooks;

namespace JourneyWorker.Definitions;

/// <summary>
/// `JourneyWorker validate DIR|FILE [--Key=Value ...]`: checks a definitions folder (or one file of it) without a server,
/// with the codes the API gives, one line per problem (file, node, code, message) for a CI log. Exit code 1 when there is
/// an error, 0 when there are only warnings or none, 2 on usage.
/// </summary>
public static class ValidateCommand
{
    public const string Name = "validate";

    private const string Usage = """
        usage: JourneyWorker validate DIR|FILE [--Webhooks:AllowedHosts:0=hooks.example.com ...]

        Checks a definitions folder (audiences/*.json, event-configs/*.json, journeys/*.json) without a server:
        every file as the API's request validation does, and every journey as POST /api/journeys/{id}/validate
        does on a server that holds exactly the folder's audiences, event configurations and journeys. A FILE
        inside such a folder is checked against its folder; any other FILE is read as a journey on its own.

        Prints one line per problem: FILE: NODE: error|warning CODE: MESSAGE. Exits with 1 if there is an error.
        It reads the same configuration as the service (appsettings.json, environment, --Key=Value) for the
        settings a check depends on: Webhooks:AllowedHosts.
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
        var targets = rest.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (targets.Count != 1)
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }
        var target = targets[0];
        rest.Remove(target);

        DefinitionFolder folder;
        string? only = null;
        if (Directory.Exists(target))
        {
            folder = await DefinitionFolder.LoadAsync(target, cancellationToken);
        }
        else if (File.Exists(target))
        {
            var full = Path.GetFullPath(target);
            var kind = Path.GetFileName(Path.GetDirectoryName(full));
            if (kind is not null && DefinitionFolder.Kinds.Contains(kind))
            {
                folder = await DefinitionFolder.LoadAsync(Path.GetDirectoryName(Path.GetDirectoryName(full))!, cancellationToken);
                only = $"{kind}/{Path.GetFileName(full)}";
            }
            else
            {
                folder = await DefinitionFolder.LoadJourneyAsync(target, cancellationToken);
            }
        }
        else
        {
            await output.WriteLineAsync($"{Name}: no file or folder at {target}");
            return 2;
        }

        WebhookOptions webhooks;
        try
        {
            webhooks = Host.CreateApplicationBuilder([.. rest]).Configuration.GetSection(WebhookOptions.Section).Get<WebhookOptions>() ?? new();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            await output.WriteLineAsync($"{Name}: {e.Message}");
            await output.WriteLineAsync(Usage);
            return 2;
        }
        var problems = await OfflineValidation.ValidateAsync(folder, webhooks, cancellationToken);
        if (only is not null)
        {
            problems = [.. problems.Where(p => p.File == only)];
        }
        await ApplyCommand.WriteProblemsAsync(output, problems);

        var errors = problems.Count(p => !p.IsWarning);
        var checkedFiles = only is not null ? 1 : folder.Audiences.Count + folder.EventConfigs.Count + folder.Journeys.Count;
        await output.WriteLineAsync(errors == 0
            ? $"{Name}: {checkedFiles} definitions checked, no errors, {problems.Count} warnings."
            : $"{Name}: {errors} errors, {problems.Count - errors} warnings.");
        return errors == 0 ? 0 : 1;
    }
}
