using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JourneyWorker.Simulation;

public static class SimulationEndpoints
{
    public static WebApplication MapSimulation(this WebApplication app)
    {
        app.MapGroup("/api/journeys").WithTags("Journeys")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation()
            .MapPost("/{id:guid}/simulate", SimulateAsync).WithName("SimulateJourney")
            .WithSummary("Simulate a journey on a virtual clock")
            .WithDescription("""
                Runs the journey's current version (its draft if it has one) with the engine's own node logic for `profiles`
                (`audience`: the journey's Read Audience, the default; `test`: the test profiles; or a list of profiles), at most
                `limit` (default 10,000), over `horizon` (default the journey timeout, at most P366D) on a virtual clock, with
                scripted `events` (`at` after the start, for one profile or `*` with a `share`) and seeded `reactions` (the share
                of recipients who open or click; the same `seed` gives the same run). Sends nothing and writes nothing: messages
                are counted (checked against the frequency rules and send windows as a live send would be), webhook calls count
                as answered 2xx without a body. Answers per-node counts, the distinct paths, messages per channel and per day,
                the instances still running at the horizon, and the frequency caps and send windows applied.
                """)
            .Invalid("A share outside 0..1, a horizon that is not a duration up to P366D, a profile that is not valid, an event for a profile not simulated or matching no event configuration, or a journey that reads no audience for \"audience\".")
            .Problem(StatusCodes.Status404NotFound, "No journey has this id.")
            .Problem(StatusCodes.Status422UnprocessableEntity, "The journey is not valid; the problem lists its errors and warnings.");
        return app;
    }

    private static async Task<Results<Ok<SimulationResponse>, ValidationProblem, ProblemHttpResult>> SimulateAsync(
        Guid id, SimulationRequest request, JourneyDbContext db, JourneyValidator validator, IServiceProvider services, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var journey = await SimulationSetup.JourneyAsync(db, id, cancellationToken);
        if (journey is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "Not found", detail: $"No journey has the id {id}.");
        }
        var validation = await validator.ValidateAsync(journey.Definition, id, cancellationToken);
        if (!validation.Valid)
        {
            return TypedResults.Problem(statusCode: 422, title: "Journey not valid",
                detail: "The journey has errors; a simulation runs a journey that could be published.",
                extensions: new Dictionary<string, object?> { ["errors"] = validation.Errors, ["warnings"] = validation.Warnings });
        }

        var (input, errors) = await SimulationSetup.LoadAsync(db, journey, request, time.GetUtcNow(), cancellationToken);
        if (input is null)
        {
            return TypedResults.ValidationProblem(errors!);
        }
        // CPU-bound for up to seconds: off the request thread's synchronous path, cancellable with the request.
        var simulator = SimulationServices.Simulator(services);
        return TypedResults.Ok(await Task.Run(() => simulator.Run(input, cancellationToken), cancellationToken));
    }
}
