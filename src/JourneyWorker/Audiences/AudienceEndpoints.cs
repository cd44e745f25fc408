using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Profiles;
using JourneyWorker.Runtime.Store;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Audiences;

public static class AudienceEndpoints
{
    public const int PreviewSampleSize = 20;

    public static IServiceCollection AddAudiences(this IServiceCollection services) => services
        .AddSingleton<MembershipSql>(sp => sp.GetRequiredService<JourneyConnections>().Provider == StorageProvider.PostgreSql
            ? new PostgreSqlMembershipSql()
            : new SqliteMembershipSql())
        .AddSingleton<AudienceMembership>();

    public static WebApplication MapAudiences(this WebApplication app)
    {
        var group = app.MapGroup("/api/audiences").WithTags("Audiences")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();
        const string Rule = "The rule is an expression over profile attributes (CONTRACT \"Expressions\"): dotted paths, comparisons, " +
            "`in [..]`, `and`/`or`/`not` and functions such as `exists(path)` or `year(date)`; a parse error names its position.";
        const string NoAudience = "No audience has this id.";

        group.MapPost("/", CreateAsync).WithName("CreateAudience")
            .WithSummary("Create an audience")
            .WithDescription($"Stores a named rule that selects profiles. {Rule} Answers 201 with the audience and its Location.")
            .Invalid("The name is missing or too long, or the rule does not parse (the error names the position).");
        group.MapGet("/", ListAsync).WithName("ListAudiences")
            .WithSummary("List audiences")
            .WithDescription("Every audience, by name.");
        group.MapGet("/{id:guid}", GetAsync).WithName("GetAudience")
            .WithSummary("Get an audience")
            .WithDescription("One audience with its rule.")
            .Problem(StatusCodes.Status404NotFound, NoAudience);
        group.MapPut("/{id:guid}", UpdateAsync).WithName("UpdateAudience")
            .WithSummary("Replace an audience's name and rule")
            .WithDescription($"{Rule} Journeys that read the audience use the new rule from their next read.")
            .Invalid("The name is missing or too long, or the rule does not parse.")
            .Problem(StatusCodes.Status404NotFound, NoAudience);
        group.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteAudience")
            .WithSummary("Delete an audience")
            .WithDescription("Deletes the audience. Refused (409) while a live journey reads it.")
            .Problem(StatusCodes.Status404NotFound, NoAudience)
            .Problem(StatusCodes.Status409Conflict, "A live journey reads this audience: close or stop that journey first.");
        group.MapGet("/{id:guid}/preview", PreviewAsync).WithName("PreviewAudience")
            .WithSummary("Preview an audience's members")
            .WithDescription($"How many profiles the rule selects now, and up to {PreviewSampleSize} of them (the first by id), computed in SQL.")
            .Problem(StatusCodes.Status404NotFound, NoAudience);
        return app;
    }

    private static async Task<Created<AudienceResponse>> CreateAsync(
        AudienceRequest request, JourneyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var audience = new Audience { Id = Guid.CreateVersion7(), Name = request.Name!.Trim(), Rule = request.Rule!, CreatedAt = now, UpdatedAt = now };
        db.Audiences.Add(audience);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/audiences/{audience.Id}", ToResponse(audience));
    }

    private static async Task<Ok<List<AudienceResponse>>> ListAsync(JourneyDbContext db, CancellationToken cancellationToken)
    {
        var audiences = await db.Audiences.AsNoTracking().OrderBy(a => a.Name).ThenBy(a => a.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(audiences.Select(ToResponse).ToList());
    }

    private static async Task<Results<Ok<AudienceResponse>, ProblemHttpResult>> GetAsync(
        Guid id, JourneyDbContext db, CancellationToken cancellationToken)
    {
        var audience = await db.Audiences.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        return audience is null ? NotFound(id) : TypedResults.Ok(ToResponse(audience));
    }

    private static async Task<Results<Ok<AudienceResponse>, ProblemHttpResult>> UpdateAsync(
        Guid id, AudienceRequest request, JourneyDbContext db, InstanceStore store, AudienceMembership membership, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var audience = await db.Audiences.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (audience is null)
        {
            return NotFound(id);
        }

        var ruleChanged = audience.Rule != request.Rule;
        audience.Name = request.Name!.Trim();
        audience.Rule = request.Rule!;
        audience.UpdatedAt = time.GetUtcNow().UtcDateTime;
        await store.WriteAsync(db, async tx =>
        {
            var tracked = await membership.LockTrackingAsync(tx, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            if (ruleChanged)
            {
                await membership.RuleChangedAsync(tx, tracked, id, cancellationToken);
            }
            return true;
        }, cancellationToken);
        return TypedResults.Ok(ToResponse(audience));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid id, JourneyDbContext db, InstanceStore store, AudienceMembership membership, CancellationToken cancellationToken)
    {
        if (!await db.Audiences.AnyAsync(a => a.Id == id, cancellationToken))
        {
            return NotFound(id);
        }

        if (await AudienceUsage.IsUsedByLiveJourneyAsync(db, id, cancellationToken))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Audience in use",
                detail: $"A live journey reads audience {id} or admits the profiles that qualify for it; close or stop it first.");
        }

        await store.WriteAsync(db, async tx =>
        {
            await membership.AudienceDeletedAsync(tx, id, cancellationToken);
            return await db.Audiences.Where(a => a.Id == id).ExecuteDeleteAsync(cancellationToken);
        }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<AudiencePreviewResponse>, ProblemHttpResult>> PreviewAsync(
        Guid id, JourneyDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var audience = await db.Audiences.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (audience is null)
        {
            return NotFound(id);
        }

        var now = time.GetUtcNow();
        var count = await AudienceQuery.CountAsync(db, audience.Rule, now, cancellationToken);
        var ids = await AudienceQuery.ReadIdsAsync(db, audience.Rule, 0, PreviewSampleSize, testOnly: false, now, cancellationToken);
        var profiles = await db.Profiles.AsNoTracking().Include(p => p.Identities).Include(p => p.PushTokens).AsSplitQuery()
            .Where(p => ids.Contains(p.Id)).OrderBy(p => p.Id).ToListAsync(cancellationToken);
        return TypedResults.Ok(new AudiencePreviewResponse(count, [.. profiles.Select(ProfileService.ToResponse)]));
    }

    private static AudienceResponse ToResponse(Audience a) => new(a.Id, a.Name, a.Rule, a.CreatedAt, a.UpdatedAt);

    private static ProblemHttpResult NotFound(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Audience not found", detail: $"No audience has the id {id}.");
}
