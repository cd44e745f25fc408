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
        const string NoJourney = "No journey has this id.";
        const string Definition = "Invalid: the name is missing or too long, a node or branch is null, or there are more than 200 nodes " +
            "(the graph itself is checked by validate and publish).";

        group.MapPost("/", CreateAsync).WithName("CreateJourney")
            .WithSummary("Create a journey")
            .WithDescription("""
                Stores the definition as version 1, a draft. Nodes: `readAudience` and `event` entries; `email` and `push` messages
                (templates over `profile`, `events.<name>` and `journey`; `errorNext` when a send finally fails); `reaction` (an open or
                click of an earlier message, with a timeout path); `event` waits; `wait` (`duration` or `until`); `condition`
                (`branches` by expression or percentage, `otherwise`); `end`. Durations are ISO 8601. A draft is checked by validate.
                """)
            .Invalid(Definition);
        group.MapGet("/", ListAsync).WithName("ListJourneys")
            .WithSummary("List journeys")
            .WithDescription("Every journey (the first 1,000, oldest first) with its current version's definition and all its versions.");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetJourney")
            .WithSummary("Get a journey")
            .WithDescription("The journey's current version (the draft if there is one, else the latest), its definition and every version's status.")
            .Problem(StatusCodes.Status404NotFound, NoJourney);
        group.MapPut("/{id:guid}", UpdateAsync).WithName("UpdateJourney")
            .WithSummary("Replace a journey's draft")
            .WithDescription("Replaces the definition of the journey's draft. A live version is immutable: make a new draft with POST /api/journeys/{id}/versions.")
            .Invalid(Definition)
            .Problem(StatusCodes.Status404NotFound, NoJourney)
            .Problem(StatusCodes.Status409Conflict, "The journey has no draft: its latest version is live, closed, stopped or finished.");
        group.MapPost("/{id:guid}/versions", NewVersionAsync).WithName("NewJourneyVersion")
            .WithSummary("Start a new draft version")
            .WithDescription("Copies the latest version's definition into a new draft, to edit and publish while the live version keeps running.")
            .Problem(StatusCodes.Status404NotFound, NoJourney)
            .Problem(StatusCodes.Status409Conflict, "The journey already has a draft.");
        group.MapPost("/{id:guid}/validate", ValidateAsync).WithName("ValidateJourney")
            .WithSummary("Validate a journey")
            .WithDescription("Checks the current version's graph and nodes: `errors` (each with its node, a code and a message) block test mode and publishing, `warnings` do not.")
            .Problem(StatusCodes.Status404NotFound, NoJourney);
        group.MapPost("/{id:guid}/test", TestAsync).WithName("SetJourneyTestMode")
            .WithSummary("Turn test mode on or off")
            .WithDescription("""
                Test mode runs the draft for test profiles only, with every wait and timeout lasting `waitOverride` (up to P1D), and
                really sends. Turning it off, or publishing, removes the test instances and their counts.
                """)
            .Invalid("waitOverride is not an ISO 8601 duration up to P1D.")
            .Problem(StatusCodes.Status404NotFound, NoJourney)
            .Problem(StatusCodes.Status409Conflict, "The journey has no draft: test mode applies to drafts.")
            .Problem(StatusCodes.Status422UnprocessableEntity, "The draft is not valid; the problem lists its errors and warnings.");
        group.MapPost("/{id:guid}/publish", (Guid id, JourneyService journeys, CancellationToken ct) => LifecycleAsync(id, journeys, journeys.PublishAsync, ct))
            .WithName("PublishJourney")
            .WithSummary("Publish the draft")
            .WithDescription("""
                Makes the draft the live version: its entries start admitting (a Read Audience on its schedule, an event entry on the
                next matching event). A previous live version is closed: its running instances finish on it.
                """)
            .Problem(StatusCodes.Status404NotFound, NoJourney)
            .Problem(StatusCodes.Status409Conflict, "The journey has no draft to publish.")
            .Problem(StatusCodes.Status422UnprocessableEntity, "The draft is not valid and cannot be published; the problem lists its errors and warnings.");
        group.MapPost("/{id:guid}/close", (Guid id, JourneyService journeys, CancellationToken ct) => LifecycleAsync(id, journeys, journeys.CloseAsync, ct))
            .WithName("CloseJourney")
            .WithSummary("Close the live version")
            .WithDescription("No new entries; the instances already running finish their paths. The version becomes finished when the last one ends.")
            .Problem(StatusCodes.Status404NotFound, NoJourney)
            .Problem(StatusCodes.Status409Conflict, "The journey has no live version to close.");
        group.MapPost("/{id:guid}/stop", (Guid id, JourneyService journeys, CancellationToken ct) => LifecycleAsync(id, journeys, journeys.StopAsync, ct))
            .WithName("StopJourney")
            .WithSummary("Stop the journey now")
            .WithDescription("Ends every running instance of the live or closed version at once (status exited), and admits no one any more.")
            .Problem(StatusCodes.Status404NotFound, NoJourney)
            .Problem(StatusCodes.Status409Conflict, "The journey has no live or closed version to stop.");
        group.MapGet("/{id:guid}/report", ReportAsync).WithName("GetJourneyReport")
            .WithSummary("Report a journey")
            .WithDescription("Per node: how many instances entered, succeeded, failed, timed out and were skipped; and the instances by status.")
            .Problem(StatusCodes.Status404NotFound, NoJourney);
        group.MapGet("/{id:guid}/instances", InstancesAsync).WithName("ListJourneyInstances")
            .WithSummary("List a journey's instances")
            .WithDescription("The journey's instances with their step histories, optionally only those of one profile (`profile={namespace}:{identity}`).")
            .Problem(StatusCodes.Status400BadRequest, "The profile filter is not of the form {namespace}:{identity}.")
            .Problem(StatusCodes.Status404NotFound, NoJourney);

        app.MapGroup("/api/instances").WithTags("Journeys").RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy)
            .MapGet("/{id:long}", InstanceAsync).WithName("GetInstance")
            .WithSummary("Get a journey instance")
            .WithDescription("One instance: where it stands (node, what it waits for, when it is due) and every step it took (node, outcome, time, detail).")
            .Problem(StatusCodes.Status404NotFound, "No journey instance has this id.");
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
