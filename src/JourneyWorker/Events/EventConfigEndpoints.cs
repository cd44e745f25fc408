using System.Security.Cryptography;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Events;

public static class EventConfigEndpoints
{
    public static IServiceCollection AddEventConfigs(this IServiceCollection services) => services;

    public static WebApplication MapEventConfigs(this WebApplication app)
    {
        var group = app.MapGroup("/api/event-configs").WithTags("Event configurations")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();
        const string Config = "`idType` is `ruleBased` (the `condition`, an expression over payload fields, recognises the event) or " +
            "`systemGenerated` (the answer carries an `eventId` that payloads send as their `eventID` field). `namespace` and " +
            "`profileIdentifier` (a payload path) tie an event to a profile; `fields` declare typed payload fields " +
            "(string, integer, number, boolean, dateTime, object, array) that every matching event must fit.";
        const string Invalid = "A member is missing or not allowed (an unknown idType or field type, a condition that does not parse; each named).";
        const string NoConfig = "No event configuration has this id.";
        const string Duplicate = "Another event configuration has this name (`field` names the member).";

        group.MapPost("/", CreateAsync).WithName("CreateEventConfig")
            .WithSummary("Create an event configuration")
            .WithDescription($"Declares an event that journeys can start with or wait for. {Config}")
            .Invalid(Invalid)
            .Problem(StatusCodes.Status409Conflict, Duplicate);
        group.MapGet("/", ListAsync).WithName("ListEventConfigs")
            .WithSummary("List event configurations")
            .WithDescription("Every event configuration, by name.");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetEventConfig")
            .WithSummary("Get an event configuration")
            .WithDescription("One event configuration, with its generated eventId when it is systemGenerated.")
            .Problem(StatusCodes.Status404NotFound, NoConfig);
        group.MapPut("/{id:guid}", UpdateAsync).WithName("UpdateEventConfig")
            .WithSummary("Replace an event configuration")
            .WithDescription($"{Config} A systemGenerated configuration keeps its eventId across edits. Events already stored are not checked again.")
            .Invalid(Invalid)
            .Problem(StatusCodes.Status404NotFound, NoConfig)
            .Problem(StatusCodes.Status409Conflict, Duplicate);
        group.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteEventConfig")
            .WithSummary("Delete an event configuration")
            .WithDescription("Deletes the configuration: events it matched are no longer recognised by it. Stored events stay.")
            .Problem(StatusCodes.Status404NotFound, NoConfig);
        return app;
    }

    private static async Task<Results<Created<EventConfigResponse>, ProblemHttpResult>> CreateAsync(
        EventConfigRequest request, JourneyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var config = new EventConfig
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!,
            IdType = request.IdType!,
            Namespace = request.Namespace!,
            ProfileIdentifier = request.ProfileIdentifier!,
            CreatedAt = now,
        };
        Apply(config, request, now);
        db.EventConfigs.Add(config);
        return await SaveAsync(db, config, cancellationToken) is { } conflict
            ? conflict
            : TypedResults.Created($"/api/event-configs/{config.Id}", ToResponse(config));
    }

    private static async Task<Ok<List<EventConfigResponse>>> ListAsync(JourneyDbContext db, CancellationToken cancellationToken)
    {
        var configs = await db.EventConfigs.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken);
        return TypedResults.Ok(configs.Select(ToResponse).ToList());
    }

    private static async Task<Results<Ok<EventConfigResponse>, ProblemHttpResult>> GetAsync(
        Guid id, JourneyDbContext db, CancellationToken cancellationToken)
    {
        var config = await db.EventConfigs.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, cancellationToken);
        return config is null ? NotFound(id) : TypedResults.Ok(ToResponse(config));
    }

    private static async Task<Results<Ok<EventConfigResponse>, ProblemHttpResult>> UpdateAsync(
        Guid id, EventConfigRequest request, JourneyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var config = await db.EventConfigs.FirstOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (config is null)
        {
            return NotFound(id);
        }

        Apply(config, request, time.GetUtcNow().UtcDateTime);
        return await SaveAsync(db, config, cancellationToken) is { } conflict ? conflict : TypedResults.Ok(ToResponse(config));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, JourneyDbContext db, CancellationToken cancellationToken)
    {
        var deleted = await db.EventConfigs.Where(c => c.Id == id).ExecuteDeleteAsync(cancellationToken);
        return deleted == 0 ? NotFound(id) : TypedResults.NoContent();
    }

    private static void Apply(EventConfig config, EventConfigRequest request, DateTime now)
    {
        config.Name = request.Name!;
        config.IdType = request.IdType!;
        config.Condition = string.IsNullOrEmpty(request.Condition) ? null : request.Condition;
        config.Namespace = request.Namespace!;
        config.ProfileIdentifier = request.ProfileIdentifier!;
        config.Fields = EventFieldChecker.SerializeFields((request.Fields ?? []).Select(f => new EventField(f.Path!, f.Type!)));
        // The eventID is what senders put in payloads: keep it across edits, create it when the config becomes systemGenerated.
        config.EventId = config.IdType == EventConfigRequestValidator.SystemGenerated
            ? config.EventId ?? "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))
            : null;
        config.UpdatedAt = now;
    }

    /// <summary>Saves; a name that another configuration has is a 409 (checked first, and caught from the unique index on a race).</summary>
    private static async Task<ProblemHttpResult?> SaveAsync(JourneyDbContext db, EventConfig config, CancellationToken cancellationToken)
    {
        var conflict = TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Duplicate name",
            detail: $"Another event configuration is named '{config.Name}'.", extensions: new Dictionary<string, object?> { ["field"] = "name" });
        if (await db.EventConfigs.AnyAsync(c => c.Name == config.Name && c.Id != config.Id, cancellationToken))
        {
            return conflict;
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return null;
        }
        catch (DbUpdateException)
        {
            return conflict;
        }
    }

    private static EventConfigResponse ToResponse(EventConfig c) => new(
        c.Id, c.Name, c.IdType, c.Condition, c.EventId, c.Namespace, c.ProfileIdentifier,
        EventFieldChecker.ParseFields(c.Fields), c.CreatedAt, c.UpdatedAt);

    private static ProblemHttpResult NotFound(Guid id) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound, title: "Event configuration not found", detail: $"No event configuration has the id {id}.");
}
