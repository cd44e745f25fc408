using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace JourneyWorker.Infrastructure;

/// <summary>A problem answer an endpoint gives, with what it means there (read by <see cref="ApiDocumentation"/>).</summary>
public sealed record ProblemResponse(int Status, string Description);

/// <summary>The endpoint reads its body itself, whatever the content type: it never answers 415.</summary>
public sealed record ReadsBodyItself;

public static class ApiDocumentationExtensions
{
    /// <summary>Declares a ProblemDetails answer with what it means for this operation.</summary>
    public static TBuilder Problem<TBuilder>(this TBuilder builder, int status, string description) where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblem(status).WithMetadata(new ProblemResponse(status, description));

    /// <summary>Marks an endpoint that reads its body itself (any content type is read as what it should be).</summary>
    public static TBuilder ReadsBodyItself<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ReadsBodyItself());

    /// <summary>Declares the 400 validation problem (every field that is wrong, under <c>errors</c>) with what it checks.</summary>
    public static TBuilder Invalid<TBuilder>(this TBuilder builder, string description) where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesValidationProblem().WithMetadata(new ProblemResponse(StatusCodes.Status400BadRequest, description));
}

/// <summary>
/// Completes what the endpoints declare, for client generators: the API key each operation takes (none for tracking),
/// the problem answers every route can give (401 without a key, 413 for a body too large, 415 for a body that is not
/// JSON, 429 where rate limited), a description and an example for every problem answer, the request and response
/// examples of <see cref="ApiExamples"/>, and a description for every parameter.
/// </summary>
public sealed class ApiDocumentation : IDocumentFilter, IOperationFilter, ISchemaFilter
{
    private readonly NullabilityInfoContext _nullability = new();

    /// <summary>
    /// A member that cannot be null is always in the JSON (nulls are the only members left out), so it is required: a
    /// generated client then types <c>routed</c> as <c>int</c>, not <c>int?</c>. Request members are nullable, so that
    /// validation, not binding, reports what is missing: they stay optional.
    /// </summary>
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema { Properties.Count: > 0 } model || context.Type is not { IsClass: true } type
            || type.Namespace?.StartsWith("JourneyWorker", StringComparison.Ordinal) != true)
        {
            return;
        }
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (!model.Properties.ContainsKey(name))
            {
                continue;
            }
            var nullable = property.PropertyType.IsValueType
                ? Nullable.GetUnderlyingType(property.PropertyType) is not null
                : _nullability.Create(property).ReadState != NullabilityState.NotNull;
            if (!nullable)
            {
                model.Required ??= new HashSet<string>(StringComparer.Ordinal);
                model.Required.Add(name);
            }
        }
    }

    public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
    {
        swaggerDoc.Tags = new HashSet<OpenApiTag>(SwaggerSetup.Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
    }

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
        // The endpoint's own summary and description win over any XML comment of its handler.
        operation.Summary = metadata.OfType<IEndpointSummaryMetadata>().LastOrDefault()?.Summary ?? operation.Summary;
        operation.Description = metadata.OfType<IEndpointDescriptionMetadata>().LastOrDefault()?.Description ?? operation.Description;
        operation.Responses ??= [];

        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var policy = metadata.OfType<IAuthorizeData>().LastOrDefault()?.Policy;
        var document = context.Document;
        operation.Security = anonymous || policy is null
            ? []
            : policy == ApiKeyAuthenticationExtensions.IngestPolicy
                ? [Requirement(SwaggerSetup.IngestScheme, document), Requirement(SwaggerSetup.AdminScheme, document)]
                : [Requirement(SwaggerSetup.AdminScheme, document)];

        var problem = context.SchemaGenerator.GenerateSchema(typeof(ProblemDetails), context.SchemaRepository);
        if (!anonymous && policy is not null)
        {
            AddProblem(operation, StatusCodes.Status401Unauthorized, problem);
        }
        if (operation.RequestBody is { Content: { } content })
        {
            AddProblem(operation, StatusCodes.Status413PayloadTooLarge, problem);
            if (content.ContainsKey("application/json") && !metadata.OfType<ReadsBodyItself>().Any())
            {
                AddProblem(operation, StatusCodes.Status415UnsupportedMediaType, problem);
            }
        }
        var path = "/" + context.ApiDescription.RelativePath;
        if (path.StartsWith("/t/", StringComparison.Ordinal) || path == "/api/events")
        {
            AddProblem(operation, StatusCodes.Status429TooManyRequests, problem);
        }

        var described = metadata.OfType<ProblemResponse>().ToDictionary(p => p.Status, p => p.Description);
        foreach (var (code, response) in operation.Responses)
        {
            if (int.TryParse(code, out var status) && status >= 400 && response is OpenApiResponse problemResponse)
            {
                problemResponse.Description = described.GetValueOrDefault(status) ?? ProblemExamples.Describe(status);
                foreach (var media in problemResponse.Content?.Values.OfType<OpenApiMediaType>() ?? [])
                {
                    media.Example = ProblemExamples.For(status, problemResponse.Description);
                }
                if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
                {
                    problemResponse.Headers = new Dictionary<string, IOpenApiHeader>
                    {
                        ["Retry-After"] = new OpenApiHeader
                        {
                            Description = "Seconds to wait before sending the request again.",
                            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
                        },
                    };
                }
            }
        }

        // A file, and a body that is not one JSON document (an NDJSON import), are bytes on the wire: a generated client
        // streams them as they are instead of writing one JSON string.
        var binary = operation.Responses.Values.SelectMany(r => r.Content ?? new Dictionary<string, IOpenApiMediaType>())
            .Where(c => c.Key.StartsWith("image/", StringComparison.Ordinal))
            .Concat(operation.RequestBody?.Content?.Where(c => c.Key.EndsWith("ndjson", StringComparison.Ordinal)) ?? []);
        foreach (var media in binary.Select(c => c.Value).OfType<OpenApiMediaType>())
        {
            media.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
        }

        ApiExamples.Apply(operation);
        DescribeParameters(operation, path);
    }

    private static OpenApiSecurityRequirement Requirement(string scheme, OpenApiDocument document) =>
        new() { [new OpenApiSecuritySchemeReference(scheme, document)] = [] };

    private static void AddProblem(OpenApiOperation operation, int status, IOpenApiSchema schema)
    {
        var code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(code))
        {
            return;
        }
        operation.Responses[code] = new OpenApiResponse
        {
            Content = new Dictionary<string, IOpenApiMediaType> { ["application/problem+json"] = new OpenApiMediaType { Schema = schema } },
        };
    }

    private static void DescribeParameters(OpenApiOperation operation, string path)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            parameter.Description ??= parameter.Name switch
            {
                "id" => $"The {Resource(path)}'s id.",
                "namespace" => "The identity namespace, such as `email` or `crmId`.",
                "identity" => "The profile's identity in that namespace, such as `ann@example.com`.",
                "token" => "The signed token the message carried; a forged or unknown one is a 404 and changes nothing.",
                "profile" => "Only the instances of this profile, given as `{namespace}:{identity}`, e.g. `email:ann@example.com`.",
                "address" => "A plain e-mail address, such as `ann@example.com`.",
                "limit" => "How many entries to answer at most.",
                "Idempotency-Key" => "Makes a retried POST harmless: an event sent again with the same key is answered as the first was and not processed twice (at most 200 characters).",
                _ => null,
            };
        }
    }

    private static string Resource(string path) => path switch
    {
        _ when path.StartsWith("/api/audiences", StringComparison.Ordinal) => "audience",
        _ when path.StartsWith("/api/event-configs", StringComparison.Ordinal) => "event configuration",
        _ when path.StartsWith("/api/instances", StringComparison.Ordinal) => "journey instance",
        _ => "journey",
    };
}

/// <summary>What each problem status means when the endpoint says nothing more, and an example body for it.</summary>
internal static class ProblemExamples
{
    public static string Describe(int status) => status switch
    {
        400 => "The request is not valid: malformed JSON, or values that break the rules (each listed under `errors`).",
        401 => "The X-Api-Key header is missing, or does not hold a key that is valid for this route.",
        404 => "Nothing has this id.",
        409 => "The request conflicts with the current state.",
        413 => "The body is larger than this route accepts (4 MiB for admin routes, 64 KiB for an event, `Import:MaxBytes` for an import).",
        415 => "The body is not JSON: send it with `Content-Type: application/json`.",
        422 => "The journey is not valid; the problem lists its errors and warnings.",
        429 => "Too many requests from this key or client: wait as long as Retry-After says.",
        503 => "The service cannot take the request now (it is stopping, or the database failed): send it again after Retry-After.",
        _ => "The request failed.",
    };

    public static JsonNode For(int status, string detail)
    {
        var (type, title) = status switch
        {
            400 => ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "One or more validation errors occurred."),
            401 => ("https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized"),
            404 => ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not found"),
            409 => ("https://tools.ietf.org/html/rfc9110#section-15.5.10", "Conflict"),
            413 => ("https://tools.ietf.org/html/rfc9110#section-15.5.14", "Payload too large"),
            415 => ("https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported Media Type"),
            422 => ("https://tools.ietf.org/html/rfc9110#section-15.5.21", "Journey not valid"),
            429 => ("https://tools.ietf.org/html/rfc6585#section-4", "Too many requests"),
            503 => ("https://tools.ietf.org/html/rfc9110#section-15.6.4", "Service unavailable"),
            _ => ("about:blank", "Error"),
        };
        var example = new JsonObject
        {
            ["type"] = type,
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
            ["traceId"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        };
        if (status == 400)
        {
            example["errors"] = new JsonObject { ["name"] = new JsonArray("'Name' must not be empty.") };
        }
        if (status == 422)
        {
            example["errors"] = new JsonArray(new JsonObject { ["node"] = "first", ["code"] = "next.unknown", ["message"] = "Node 'first' next names 'second', which does not exist." });
            example["warnings"] = new JsonArray();
        }
        return example;
    }
}
