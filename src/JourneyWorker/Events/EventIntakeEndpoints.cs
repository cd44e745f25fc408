using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace JourneyWorker.Events;

public static class EventIntakeEndpoints
{
    public const int MaxEventBytes = 64 * 1024;
    public const int MaxIdempotencyKeyLength = 200;

    public static IServiceCollection AddEventIntake(this IServiceCollection services)
    {
        services.AddOptions<EventIntakeOptions>().BindConfiguration(EventIntakeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EventSql>(sp => sp.GetRequiredService<JourneyConnections>().Provider == StorageProvider.PostgreSql
            ? new PostgreSqlEventSql()
            : new SqliteEventSql());
        // EventIntake holds nothing per request: a singleton, not one made (and tracked by the request's scope) per event.
        services.AddSingleton<EventIntake>().AddSingleton<EventConfigCache>().AddSingleton<JourneyStarts>();
        services.AddSingleton<EventWriter>().AddHostedService(sp => sp.GetRequiredService<EventWriter>());
        return services;
    }

    public static WebApplication MapEventIntake(this WebApplication app)
    {
        app.MapPost("/api/events", AcceptAsync).WithTags("Events").WithName("IngestEvent")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.IngestPolicy)
            .Accepts<JsonObject>("application/json").ReadsBodyItself()
            .WithSummary("Send an event")
            .WithDescription("""
                The body is the raw event payload: a JSON object of at most 64 KiB, as your system has it. The event is matched against
                every event configuration (its rule, or the `eventID` field), checked against the matched configurations' fields, tied to
                a profile through their namespace and profile identifier, stored durably and routed: waiting instances of that profile
                resume and journeys that start with the event admit it. The 202 comes only once it is stored, and tells which
                configurations matched (`matched`, empty when none did), how many instances it routed to (`routed`) and why not
                (`reason`, e.g. an unknown profile). Takes the ingest key or the admin key.
                """)
            .Invalid("The body is not JSON or not a JSON object, a matched configuration's field has the wrong type (`errors` names each, by configuration), or the Idempotency-Key is longer than 200 characters.")
            .Problem(StatusCodes.Status413PayloadTooLarge, "The event is larger than 64 KiB.")
            .Problem(StatusCodes.Status503ServiceUnavailable, "The event could not be stored (the service is stopping, or the database failed): send it again after Retry-After, with the same Idempotency-Key.");
        return app;
    }

    private static async Task<Results<Accepted<EventAccepted>, ValidationProblem, ProblemHttpResult>> AcceptAsync(
        HttpContext context, EventIntake intake, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, CancellationToken cancellationToken)
    {
        var key = idempotencyKey ?? "";
        if (key.Length > MaxIdempotencyKeyLength)
        {
            return TypedResults.Problem(statusCode: 400, title: "Bad Idempotency-Key", detail: $"The Idempotency-Key header is longer than {MaxIdempotencyKeyLength} characters.");
        }

        if (context.Request.ContentLength > MaxEventBytes)
        {
            return TooLarge();
        }

        var body = await ReadBoundedAsync(context.Request, cancellationToken);
        if (body is null)
        {
            return TooLarge();
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(WithoutBom(body), documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            return TypedResults.Problem(statusCode: 400, title: "Malformed JSON", detail: $"The event is not valid JSON: {e.Message}");
        }

        if (node is not JsonObject payload)
        {
            return TypedResults.Problem(statusCode: 400, title: "Not a JSON object", detail: "The event payload must be a JSON object.");
        }

        IntakeResult result;
        try
        {
            // Stored as received (it parsed, so it is valid UTF-8 JSON): no second serialisation per request.
            result = await intake.AcceptAsync(payload, Text(body), key.Length == 0 ? null : key, cancellationToken);
        }
        catch (IntakeUnavailableException e)
        {
            context.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(statusCode: 503, title: "Event intake unavailable", detail: e.Message);
        }
        return result.FieldErrors is { } errors
            ? TypedResults.ValidationProblem(errors, title: "The event does not fit its configuration")
            : TypedResults.Accepted((string?)null, result.Accepted!);
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // A declared length (checked against the limit already; Kestrel refuses a body that differs from it): one buffer of
        // that size, filled in place, instead of a chunk, a growing stream and a copy per request.
        if (request.ContentLength is { } length)
        {
            var exact = new byte[length];
            var filled = await request.Body.ReadAtLeastAsync(exact, exact.Length, throwOnEndOfStream: false, cancellationToken);
            return filled == exact.Length ? exact : exact[..filled];
        }
        var body = request.Body;
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxEventBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// The body without a UTF-8 byte-order mark: JSON text must not carry one (RFC 8259 §8.1) but a reader may ignore it,
    /// and some clients send it. Neither the parser nor the stored text (parsed again later) would take it.
    /// </summary>
    private static ReadOnlySpan<byte> WithoutBom(byte[] body) =>
        body.AsSpan().StartsWith(System.Text.Encoding.UTF8.Preamble) ? body.AsSpan(System.Text.Encoding.UTF8.Preamble.Length) : body;

    private static string Text(byte[] body) => System.Text.Encoding.UTF8.GetString(WithoutBom(body));

    private static ProblemHttpResult TooLarge() =>
        TypedResults.Problem(statusCode: 413, title: "Payload too large", detail: $"An event is at most {MaxEventBytes / 1024} KiB.");
}
