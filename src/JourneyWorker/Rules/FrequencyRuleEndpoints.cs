using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Rules;

/// <summary>GET|PUT /api/rules/frequency: the caps on marketing messages per profile, across every journey.</summary>
public static class FrequencyRuleEndpoints
{
    public static WebApplication MapFrequencyRules(this WebApplication app)
    {
        var group = app.MapGroup("/api/rules/frequency").WithTags("Rules")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();
        group.MapGet("/", GetAsync).WithName("GetFrequencyRules")
            .WithSummary("Get the frequency rules")
            .WithDescription("The caps on marketing messages per profile across every journey, in the order they were put.");
        group.MapPut("/", PutAsync).WithName("PutFrequencyRules")
            .WithSummary("Replace the frequency rules")
            .WithDescription("Replaces every frequency rule: per channel (email, push or any) at most 'max' marketing messages per profile in "
                + "any rolling window of 'per' (an ISO 8601 duration). A marketing e-mail or push over a cap is skipped and its instance goes on "
                + "along cappedNext (else next); transactional messages are never capped. An empty list lifts every cap.")
            .Invalid($"'rules' is missing or longer than {FrequencyRulesRequestValidator.MaxRules}, or a rule names an unknown channel, a 'max' out of range or a 'per' that is not an ISO 8601 duration in range.")
            .Problem(StatusCodes.Status409Conflict, "Another request replaced the rules at the same time: read them and try again.");
        return app;
    }

    private static async Task<Ok<FrequencyRulesResponse>> GetAsync(JourneyDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok(ToResponse(await ReadAsync(db, cancellationToken)));

    private static async Task<Results<Ok<FrequencyRulesResponse>, ProblemHttpResult>> PutAsync(
        FrequencyRulesRequest request, JourneyDbContext db, CancellationToken cancellationToken)
    {
        var rules = request.Rules!.Select((r, i) => new FrequencyRule
        {
            Position = i,
            Channel = r!.Channel!,
            Max = r.Max!.Value,
            Per = IsoDuration.TryParse(r.Per, out var per) ? per : throw new InvalidOperationException("validated"),
        }).ToList();
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            await db.FrequencyRules.ExecuteDeleteAsync(cancellationToken);
            db.FrequencyRules.AddRange(rules);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Only another PUT committing the same positions meanwhile (PostgreSQL): its list stands.
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                detail: "The frequency rules were replaced by another request at the same time; read them and try again.");
        }
        return TypedResults.Ok(ToResponse(rules));
    }

    public static Task<List<FrequencyRule>> ReadAsync(JourneyDbContext db, CancellationToken cancellationToken) =>
        db.FrequencyRules.AsNoTracking().OrderBy(r => r.Position).ToListAsync(cancellationToken);

    private static FrequencyRulesResponse ToResponse(IEnumerable<FrequencyRule> rules) =>
        new([.. rules.Select(r => new FrequencyRuleResponse(r.Channel, r.Max, IsoDuration.Format(r.Per)))]);
}
