namespace JourneyWorker.Infrastructure;

/// <summary>
/// `JourneyWorker --healthcheck URL`: a self-contained probe for container HEALTHCHECKs, since
/// the runtime image carries no curl. Exit code 0 when the URL answers 2xx.
/// </summary>
public static class HealthProbe
{
    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == "--healthcheck";

    public static async Task<int> RunAsync(string[] args)
    {
        var url = args.Length >= 2 ? args[1] : "http://127.0.0.1:8080/health/ready";
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (HttpRequestException)
        {
            return 1;
        }
        catch (TaskCanceledException)
        {
            return 1;
        }
    }
}
