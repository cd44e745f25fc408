using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// The OpenAPI document at /swagger/v1/swagger.json, written for client generators: every operation has an operationId,
/// a summary and a description (on its endpoint), examples and its ProblemDetails answers (<see cref="ApiDocumentation"/>),
/// each route names the API key it takes, and the document names the server it was fetched from. CI lints it with
/// Redocly's recommended rules (redocly.yaml) and generates a client from it (tests/JourneyWorker.Tests/OpenApi).
/// </summary>
public static class SwaggerSetup
{
    public const string AdminScheme = "AdminKey";
    public const string IngestScheme = "IngestKey";

    /// <summary>The tags in the order the document lists them, with what each groups.</summary>
    public static readonly IReadOnlyList<(string Name, string Description)> Tags =
    [
        ("Profiles", "Customer profiles: identities, attributes, consent and push tokens, one at a time or imported as NDJSON. Deleting one forgets the person."),
        ("Audiences", "Named rules over profile attributes that select who a Read Audience journey admits; previewed in SQL."),
        ("Event configurations", "How incoming events are recognised (a rule or a generated eventID), checked (typed fields) and tied to a profile."),
        ("Events", "Event intake: the raw payloads your systems send. Each is matched, stored durably and routed before it is answered."),
        ("Journeys", "Versioned journey graphs: drafts, validation, test mode, publishing, closing and stopping, reports and instance histories."),
        ("Tracking", "Public routes put into messages (open pixel, one-click unsubscribe, push open). Protected by signed tokens, not API keys."),
        ("Rules", "Frequency rules: how many marketing messages a profile may get per channel in a rolling window, across every journey."),
        ("Deliverability", "Bounces and complaints reported as JSON, and the suppression list of addresses no journey mails."),
    ];

    public static IServiceCollection AddSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(c =>
        {
            c.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "JourneyWorker",
                Version = "v1",
                Description = """
                    Self-hosted customer-journey engine: the admin API (profiles, audiences, event configurations, journeys) and event intake.

                    Every `/api` route takes an API key in the `X-Api-Key` header: the admin key (`Security:AdminApiKey`) everywhere, or the ingest key
                    (`Security:IngestApiKey`) for `POST /api/events` only. Errors are RFC 9457 problem details (`application/problem+json`);
                    validation problems list every field that is wrong under `errors`.
                    """,
                // The repository states no licence: "proprietary" says only that none is granted, and the link says what that means.
                License = new OpenApiLicense { Name = "Proprietary", Url = new Uri("https://en.wikipedia.org/wiki/Proprietary_software") },
            });
            c.AddSecurityDefinition(AdminScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "The admin key (`Security:AdminApiKey`): every `/api` route. A missing or wrong key is a 401 problem.",
            });
            c.AddSecurityDefinition(IngestScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "The ingest key (`Security:IngestApiKey`): `POST /api/events` only, for the systems that send events. On any other route it is a 401.",
            });
            // Payloads and attributes are any JSON: as JsonNode's own members they would read as a class with parent and root.
            c.MapType<JsonNode>(() => new OpenApiSchema { Description = "Any JSON value." });
            c.MapType<JsonObject>(() => new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                AdditionalProperties = new OpenApiSchema { Description = "Any JSON value." },
                Description = "Any JSON object.",
            });
            c.SupportNonNullableReferenceTypes();
            c.CustomSchemaIds(t => t.FullName!.Replace("JourneyWorker.", "", StringComparison.Ordinal).Replace('+', '.'));
            c.DocumentFilter<ApiDocumentation>();
            c.OperationFilter<ApiDocumentation>();
            c.SchemaFilter<ApiDocumentation>();
        });
        return services;
    }

    public static WebApplication MapSwagger(this WebApplication app)
    {
        // The server is relative: the service the document was fetched from (under its path base behind a proxy), so a
        // generated client or Swagger UI's "Try it out" talks to that same service, whatever host name reached it.
        app.UseSwagger(o => o.PreSerializeFilters.Add((document, request) =>
            document.Servers = [new OpenApiServer { Url = request.PathBase.HasValue ? request.PathBase.Value : "/", Description = "The service that serves this document." }]));
        app.UseSwaggerUI(o => o.DocumentTitle = "JourneyWorker API");
        return app;
    }
}
