using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;

namespace JourneyWorker.Infrastructure;

public static class ProblemHandling
{
    public static IServiceCollection AddProblemHandling(this IServiceCollection services)
    {
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
            ctx.ProblemDetails.Extensions["traceId"] = ctx.HttpContext.TraceIdentifier);
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Binding failures (malformed JSON, wrong types) throw so that they reach the handler with their reason.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            o.SerializerOptions.MaxDepth = 64;
        });
        return services;
    }

    public static WebApplication UseProblemHandling(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}

/// <summary>Turns what a client sent wrong into a 4xx ProblemDetails that says what was wrong.</summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e => (e.StatusCode, "Payload too large", e.Message),
            BadHttpRequestException { InnerException: JsonException json } e => (e.StatusCode, "Malformed JSON", Describe(json)),
            BadHttpRequestException e => (e.StatusCode, "Bad request", e.Message),
            JsonException json => (StatusCodes.Status400BadRequest, "Malformed JSON", Describe(json)),
            // A lone surrogate escape ("\udc00") parses, and throws only when the string is read or re-serialized.
            InvalidOperationException e when IsInvalidUtf16(e) => (StatusCodes.Status400BadRequest, "Malformed JSON", "The JSON holds an escaped lone surrogate (invalid UTF-16)."),
            _ => (0, "", ""),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    private static bool IsInvalidUtf16(InvalidOperationException e) =>
        e.TargetSite?.DeclaringType?.Assembly == typeof(JsonException).Assembly && e.Message.Contains("invalid UTF-16", StringComparison.OrdinalIgnoreCase);

    private static string Describe(JsonException json) =>
        json.Path is { Length: > 0 } path
            ? $"The JSON is not valid at {path} (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1}): {FirstSentence(json.Message)}"
            : $"The JSON is not valid: {FirstSentence(json.Message)}";

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
