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
        services.AddExceptionHandler<DatabaseUnavailableExceptionHandler>();
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

/// <summary>
/// The database itself failing (locked past the busy timeout by a backup or another process, the disk full, the
/// connection lost) is no fault of the request and passes: a 503 with Retry-After tells the client to send it again,
/// where a 500 would say the request broke the service.
/// </summary>
public sealed partial class DatabaseUnavailableExceptionHandler(
    IProblemDetailsService problemDetails, JourneyWorker.Data.JourneyConnections connections, ILogger<DatabaseUnavailableExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>Seconds a client is asked to wait: a lock or a full disk is usually gone within seconds of its cause.</summary>
    public const int RetryAfterSeconds = 1;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // EF Core wraps the provider's error (DbUpdateException, retry strategies): look down the chain.
        var database = Environmental(exception);
        if (database is null)
        {
            return false;
        }
        LogUnavailable(logger, httpContext.Request.Method, httpContext.Request.Path, database.Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Database unavailable",
                Detail = "The database cannot take the request now (it is locked, full or unreachable): send it again after Retry-After.",
            },
        });
    }

    private System.Data.Common.DbException? Environmental(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is System.Data.Common.DbException db && connections.IsEnvironmental(db))
            {
                return db;
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} answered 503: the database is unavailable: {Error}")]
    private static partial void LogUnavailable(ILogger logger, string method, string path, string error);
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
