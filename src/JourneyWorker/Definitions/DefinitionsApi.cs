using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using JourneyWorker.Audiences;
using JourneyWorker.Events;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Definitions;

/// <summary>An answer of the server other than the one expected, told as the lines an operator needs to fix it.</summary>
public sealed class DefinitionsApiException(string message) : Exception(message);

/// <summary>What apply and export read and write, over the admin API (the caller's HttpClient carries the X-Api-Key header).</summary>
public sealed class DefinitionsApi(HttpClient http)
{
    public sealed record ServerState(List<AudienceResponse> Audiences, List<EventConfigResponse> EventConfigs, List<JourneyResponse> Journeys);

    public async Task<ServerState> ReadAsync(CancellationToken cancellationToken) => new(
        await GetAsync<List<AudienceResponse>>("api/audiences", cancellationToken),
        await GetAsync<List<EventConfigResponse>>("api/event-configs", cancellationToken),
        await GetAsync<List<JourneyResponse>>("api/journeys", cancellationToken));

    public async Task<Guid> CreateAudienceAsync(AudienceRequest audience, CancellationToken cancellationToken) =>
        (await SendAsync<AudienceResponse>(HttpMethod.Post, "api/audiences", audience, cancellationToken)).Id;

    public Task UpdateAudienceAsync(Guid id, AudienceRequest audience, CancellationToken cancellationToken) =>
        SendAsync<AudienceResponse>(HttpMethod.Put, $"api/audiences/{id}", audience, cancellationToken);

    public async Task<Guid> CreateEventConfigAsync(EventConfigRequest config, CancellationToken cancellationToken) =>
        (await SendAsync<EventConfigResponse>(HttpMethod.Post, "api/event-configs", config, cancellationToken)).Id;

    public Task UpdateEventConfigAsync(Guid id, EventConfigRequest config, CancellationToken cancellationToken) =>
        SendAsync<EventConfigResponse>(HttpMethod.Put, $"api/event-configs/{id}", config, cancellationToken);

    public Task<JourneyCreated> CreateJourneyAsync(JourneyDefinition journey, CancellationToken cancellationToken) =>
        SendAsync<JourneyCreated>(HttpMethod.Post, "api/journeys", journey, cancellationToken);

    public Task<JourneyCreated> NewJourneyVersionAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<JourneyCreated>(HttpMethod.Post, $"api/journeys/{id}/versions", null, cancellationToken);

    public Task<JourneyResponse> UpdateJourneyAsync(Guid id, JourneyDefinition journey, CancellationToken cancellationToken) =>
        SendAsync<JourneyResponse>(HttpMethod.Put, $"api/journeys/{id}", journey, cancellationToken);

    public Task<JourneyResponse> PublishJourneyAsync(Guid id, CancellationToken cancellationToken) =>
        SendAsync<JourneyResponse>(HttpMethod.Post, $"api/journeys/{id}/publish", null, cancellationToken);

    private Task<T> GetAsync<T>(string path, CancellationToken cancellationToken) => SendAsync<T>(HttpMethod.Get, path, null, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: DefinitionJson.Write);
        }
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new DefinitionsApiException($"{method} {new Uri(http.BaseAddress!, path)}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DefinitionsApiException($"{method} {new Uri(http.BaseAddress!, path)}: no answer within {http.Timeout.TotalSeconds:N0} s.");
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new DefinitionsApiException($"{method} /{path}: {(int)response.StatusCode} {Describe(text)}");
            }
            try
            {
                return JsonSerializer.Deserialize<T>(text, DefinitionJson.Read)
                    ?? throw new DefinitionsApiException($"{method} /{path}: the server answered null.");
            }
            catch (JsonException e)
            {
                throw new DefinitionsApiException($"{method} /{path}: the answer is not what a JourneyWorker server sends ({e.Message}). Is --server the right URL?");
            }
        }
    }

    /// <summary>A ProblemDetails answer as text: title and detail, then one line per validation problem (a field's, or a journey node's).</summary>
    private static string Describe(string body)
    {
        JsonElement problem;
        try
        {
            problem = JsonSerializer.Deserialize<JsonElement>(body);
        }
        catch (JsonException)
        {
            return body.Length > 500 ? body[..500] + "…" : body;
        }
        if (problem.ValueKind != JsonValueKind.Object)
        {
            return body;
        }
        var text = new StringBuilder();
        text.Append(String(problem, "title"));
        if (String(problem, "detail") is { Length: > 0 } detail)
        {
            text.Append(": ").Append(detail);
        }
        if (problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
        {
            foreach (var field in errors.EnumerateObject())
            {
                foreach (var message in field.Value.EnumerateArray())
                {
                    text.Append("\n    ").Append(field.Name).Append(": ").Append(message.GetString());
                }
            }
        }
        else if (errors.ValueKind == JsonValueKind.Array)
        {
            foreach (var error in errors.EnumerateArray())
            {
                text.Append("\n    ").Append(String(error, "node") ?? "-").Append(": error ").Append(String(error, "code"))
                    .Append(": ").Append(String(error, "message"));
            }
        }
        return text.ToString();
    }

    private static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
