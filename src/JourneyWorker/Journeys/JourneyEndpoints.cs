using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace JourneyWorker.Journeys;

public static class JourneyEndpoints
{
    public static IServiceCollection AddJourneys(this IServiceCollection services)
    {
        services.AddOptions<JourneyOptions>().BindConfiguration(JourneyOptions.Section).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<JourneyOptions>, JourneyOptionsValidator>();
        services.AddScoped<JourneyValidator>();
        services.AddScoped<JourneyService>();
        services.AddScoped<JourneyReports>();
        return services;
    }

    public static WebApplication MapJourneys(this WebApplication app)
    {
        var group = app.MapGroup("/api/journeys").WithTags("Journeys")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();
        group.MapPost("/", CreateAsync).WithName("CreateJourney");
        group.MapGet("/", ListAsync).WithName("ListJourneys");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetJourney");
        group.MapPut("/{id:guid}", UpdateAsync).WithName("UpdateJourney");
        group.MapPost("/{id:guid}/versions", NewVersionAsync).WithName("NewJourneyVersion");
        group.MapPost("/{id:guid}/validate", ValidateAsync).WithName("ValidateJourney");
        group.MapPost("/{id:guid}/test", TestAsync).WithName("SetJourneyTestMode");
        group.MapPost("/{id:guid}/publish", (Guid id, JourneyService journeys, CancellationToken ct) => LifecycleAsync(id, journeys, journeys.PublishAsync, ct)).WithName("PublishJourney");
        group.MapPost("/{id:guid}/close", (Guid id, JourneyService journeys, CancellationToken ct) => LifecycleAsync(id, journeys, journeys.CloseAsync, ct)).WithName("CloseJourney");
        group.MapPost("/{id:guid}/stop", (Guid id, JourneyService journeys, CancellationToken ct) => LifecycleAsync(id, journeys, journeys.StopAsync, ct)).WithName("StopJourney");
        group.MapGet("/{id:guid}/report", ReportAsync).WithName("JourneyReport");
        group.MapGet("/{id:guid}/instances", InstancesAsync).WithName("JourneyInstances");

        app.MapGroup("/api/instances").WithTags("Journeys").RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy)
            .MapGet("/{id:long}", InstanceAsync).WithName("GetInstance");
        return app;
    }

    private static async Task<Created<JourneyCreated>> CreateAsync(JourneyDefinition definition, JourneyService journeys, CancellationToken cancellationToken)
    {
        var version = await journeys.CreateAsync(definition, cancellationToken);
        return TypedResults.Created($"/api/journeys/{version.JourneyId}", new JourneyCreated(version.JourneyId, version.Version, version.Status));
    }

    private static async Task<Ok<List<JourneyResponse>>> ListAsync(JourneyDbContext db, JourneyService journeys, CancellationToken cancellationToken)
    {
        var ids = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            db.Journeys.OrderBy(j => j.CreatedAt).Select(j => j.Id).Take(1_000), cancellationToken);
        var result = new List<JourneyResponse>();
        foreach (var id in ids)
        {
            var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
            result.Add(ToResponse(journey!, versions));
        }
        return TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<JourneyResponse>, ProblemHttpResult>> GetAsync(Guid id, JourneyService journeys, CancellationToken cancellationToken)
    {
        var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
        return journey is null ? Problem(new(404, $"No journey has the id {id}.")) : TypedResults.Ok(ToResponse(journey, versions));
    }

    private static async Task<Results<Ok<JourneyResponse>, ProblemHttpResult>> UpdateAsync(
        Guid id, JourneyDefinition definition, JourneyService journeys, CancellationToken cancellationToken)
    {
        if (await journeys.UpdateDraftAsync(id, definition, cancellationToken) is { } problem)
        {
            return Problem(problem);
        }
        var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
        return TypedResults.Ok(ToResponse(journey!, versions));
    }

    private static async Task<Results<Created<JourneyCreated>, ProblemHttpResult>> NewVersionAsync(Guid id, JourneyService journeys, CancellationToken cancellationToken)
    {
        var (version, problem) = await journeys.NewDraftAsync(id, cancellationToken);
        return problem is not null
            ? Problem(problem)
            : TypedResults.Created($"/api/journeys/{id}", new JourneyCreated(id, version!.Version, version.Status));
    }

    private static async Task<Results<Ok<JourneyValidationResult>, ProblemHttpResult>> ValidateAsync(Guid id, JourneyService journeys, CancellationToken cancellationToken)
    {
        var (result, problem) = await journeys.ValidateAsync(id, cancellationToken);
        return problem is not null ? Problem(problem) : TypedResults.Ok(result!);
    }

    private static async Task<Results<Ok<JourneyResponse>, ProblemHttpResult>> TestAsync(
        Guid id, TestModeRequest request, JourneyService journeys, CancellationToken cancellationToken)
    {
        if (await journeys.SetTestModeAsync(id, request, cancellationToken) is { } problem)
        {
            return Problem(problem);
        }
        var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
        return TypedResults.Ok(ToResponse(journey!, versions));
    }

    private static async Task<Results<Ok<JourneyResponse>, ProblemHttpResult>> LifecycleAsync(
        Guid id, JourneyService journeys, Func<Guid, CancellationToken, Task<LifecycleProblem?>> action, CancellationToken cancellationToken)
    {
        if (await action(id, cancellationToken) is { } problem)
        {
            return Problem(problem);
        }
        var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
        return TypedResults.Ok(ToResponse(journey!, versions));
    }

    private static async Task<Results<Ok<JourneyReport>, ProblemHttpResult>> ReportAsync(Guid id, JourneyReports reports, CancellationToken cancellationToken)
    {
        var report = await reports.ReportAsync(id, cancellationToken);
        return report is null ? Problem(new(404, $"No journey has the id {id}.")) : TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<List<InstanceResponse>>, ProblemHttpResult>> InstancesAsync(
        Guid id, [FromQuery] string? profile, JourneyReports reports, CancellationToken cancellationToken)
    {
        string? ns = null, identity = null;
        if (profile is not null)
        {
            var colon = profile.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == profile.Length - 1)
            {
                return TypedResults.Problem(statusCode: 400, title: "Bad profile filter",
                    detail: "The profile query parameter takes the form {namespace}:{identity}, e.g. email:ann@example.com.");
            }
            (ns, identity) = (profile[..colon], profile[(colon + 1)..]);
        }
        var instances = await reports.InstancesAsync(id, ns, identity, cancellationToken);
        return instances is null ? Problem(new(404, $"No journey has the id {id}.")) : TypedResults.Ok(instances);
    }

    private static async Task<Results<Ok<InstanceResponse>, ProblemHttpResult>> InstanceAsync(long id, JourneyReports reports, CancellationToken cancellationToken)
    {
        var instance = await reports.InstanceAsync(id, cancellationToken);
        return instance is null ? Problem(new(404, $"No journey instance has the id {id}.")) : TypedResults.Ok(instance);
    }

    private static JourneyResponse ToResponse(Journey journey, List<JourneyVersion> versions)
    {
        var current = JourneyService.Current(versions);
        return new JourneyResponse(
            journey.Id,
            journey.Name,
            current.Version,
            current.Status,
            current.TestMode,
            current.WaitOverride is { } w ? IsoDuration.Format(w) : null,
            CompiledJourney.Parse(current.Definition),
            [.. versions.Select(v => new JourneyVersionSummary(v.Version, v.Status, v.TestMode, v.CreatedAt, v.PublishedAt, v.EndedAt))]);
    }

    private static ProblemHttpResult Problem(LifecycleProblem problem)
    {
        var title = problem.Status switch
        {
            404 => "Not found",
            409 => "Conflict",
            422 => "Journey not valid",
            _ => "Error",
        };
        Dictionary<string, object?>? extensions = problem.Validation is { } v
            ? new() { ["errors"] = v.Errors, ["warnings"] = v.Warnings }
            : null;
        return TypedResults.Problem(statusCode: problem.Status, title: title, detail: problem.Detail, extensions: extensions);
    }
}
