using JourneyWorker.Infrastructure;

namespace JourneyWorker.Definitions;

/// <summary>The arguments the definitions commands share: <c>--server URL</c>, flags, and the admin key from the environment.</summary>
internal static class CommandArguments
{
    public const string AdminKeyVariable = "JOURNEYWORKER_ADMIN_KEY";

    public static bool WantsHelp(List<string> args) => args.Any(a => a is "--help" or "-h" or "-?");

    /// <summary>Takes <c>--name VALUE</c> or <c>--name=VALUE</c> out of the arguments.</summary>
    public static string? TakeOption(List<string> args, string name)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == name && i + 1 < args.Count)
            {
                var value = args[i + 1];
                args.RemoveRange(i, 2);
                return value;
            }
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                var value = args[i][(name.Length + 1)..];
                args.RemoveAt(i);
                return value;
            }
        }
        return null;
    }

    public static bool TakeFlag(List<string> args, string name) => args.Remove(name);

    /// <summary>
    /// A client of the admin API at <paramref name="server"/> with the key from <see cref="AdminKeyVariable"/> (kept out of the
    /// command line, where other users of the machine and shell histories would see it); null after saying what is missing.
    /// </summary>
    public static async Task<HttpClient?> ClientAsync(string command, string? server, TextWriter output)
    {
        if (server is null || !Uri.TryCreate(server, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            await output.WriteLineAsync($"{command}: --server needs the service's base URL, such as http://localhost:5080.");
            return null;
        }
        if (Environment.GetEnvironmentVariable(AdminKeyVariable) is not { Length: > 0 } key)
        {
            await output.WriteLineAsync($"{command}: set {AdminKeyVariable} to the admin API key (Security:AdminApiKey of the service).");
            return null;
        }
        // Relative request paths resolve under the base: a service behind a path prefix keeps it.
        var client = new HttpClient { BaseAddress = new Uri(url.AbsoluteUri.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        return client;
    }
}
