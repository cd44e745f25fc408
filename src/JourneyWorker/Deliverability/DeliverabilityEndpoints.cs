using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace JourneyWorker.Deliverability;

/// <summary>Bounce and complaint intake for providers that post JSON, and the suppression list (admin key).</summary>
public static class DeliverabilityEndpoints
{
    public const int DefaultListLimit = 1000;
    public const int MaxListLimit = 10_000;

    public static IServiceCollection AddDeliverability(this IServiceCollection services)
    {
        services.AddSingleton<ReturnPaths>();
        services.AddScoped<Suppressions>();
        services.AddScoped<EmailFeedbackService>();
        services.AddSingleton<BounceListener>();
        services.AddHostedService(sp => sp.GetRequiredService<BounceListener>());
        return services;
    }

    public static WebApplication MapDeliverability(this WebApplication app)
    {
        var feedback = app.MapGroup("/api/email-feedback").WithTags("Deliverability")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();
        feedback.MapPost("/", FeedbackAsync).WithName("PostEmailFeedback")
            .WithSummary("Report a bounce or a complaint")
            .WithDescription("A bounce or complaint reported by a provider as JSON: a hard bounce or a complaint suppresses the address at once, "
                + "soft bounces do after Email:Bounces:SoftLimit within Email:Bounces:SoftWindow. The message, named by its Message-ID, "
                + "counts the bounce or complaint on its journey node.")
            .Invalid("The type is not bounce or complaint, a bounce lacks bounceType hard or soft, the address, Message-ID or status is malformed, or neither an address nor a Message-ID is given.")
            .Problem(StatusCodes.Status404NotFound, "No address was given and no message has this Message-ID.")
            .Problem(StatusCodes.Status422UnprocessableEntity, "The message was found but its recipient's address is no longer known.");

        var suppressions = app.MapGroup("/api/suppressions").WithTags("Deliverability")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy);
        const string NotAddress = "The path does not end in one plain e-mail address such as ann@example.com.";
        const string NotListed = "The address is not on the suppression list.";
        suppressions.MapGet("/", ListAsync).WithName("ListSuppressions")
            .WithSummary("List suppressed addresses")
            .WithDescription($"Suppressed addresses, newest first; at most 'limit' (default {DefaultListLimit}, up to {MaxListLimit}).")
            .Invalid($"'limit' is not 1 to {MaxListLimit}.");
        suppressions.MapGet("/{address}", GetAsync).WithName("GetSuppression")
            .WithSummary("Get an address's suppression")
            .WithDescription("Whether the address is suppressed, since when and why (hardBounce, softBounce or complaint).")
            .Invalid(NotAddress)
            .Problem(StatusCodes.Status404NotFound, NotListed);
        suppressions.MapDelete("/{address}", DeleteAsync).WithName("DeleteSuppression")
            .WithSummary("Lift a suppression")
            .WithDescription("Lifts the suppression (and forgets the address's soft bounces). A profile's withdrawn consent stays withdrawn.")
            .Invalid(NotAddress)
            .Problem(StatusCodes.Status404NotFound, NotListed);
        return app;
    }

    private static async Task<Results<Ok<EmailFeedbackResponse>, ProblemHttpResult>> FeedbackAsync(
        EmailFeedbackRequest request, EmailFeedbackService service, CancellationToken cancellationToken)
    {
        var kind = request.Type == "complaint" ? FeedbackKinds.Complaint
            : request.BounceType == "soft" ? FeedbackKinds.SoftBounce
            : FeedbackKinds.HardBounce;
        var detail = request.Status ?? (request.Type == "complaint" ? "complaint" : request.BounceType);
        var report = new FeedbackReport(kind, request.Address?.Trim(), request.MessageId, null, detail);
        var result = await service.RecordAsync(report, requireKnownSend: false, cancellationToken);
        return result switch
        {
            { Outcome: FeedbackOutcome.Recorded, Address: { } address } =>
                TypedResults.Ok(new EmailFeedbackResponse(address, result.Suppressed, result.Reason, result.SendFound)),
            { SendFound: true } => TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "No address",
                detail: "The message was found, but its profile has no e-mail address any more; give 'address'."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Message not found",
                detail: $"No kept message has the Message-ID '{request.MessageId}', and no 'address' was given."),
        };
    }

    private static async Task<Results<Ok<List<SuppressionResponse>>, ValidationProblem>> ListAsync(
        Suppressions suppressions, int? limit, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxListLimit)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"'limit' must be 1 to {MaxListLimit}."] });
        }
        return TypedResults.Ok(await suppressions.ListAsync(limit ?? DefaultListLimit, cancellationToken));
    }

    private static async Task<Results<Ok<SuppressionResponse>, ValidationProblem, ProblemHttpResult>> GetAsync(
        string address, Suppressions suppressions, CancellationToken cancellationToken)
    {
        if (!EmailFeedbackRequestValidator.BeAnAddress(address))
        {
            return BadAddress();
        }
        return await suppressions.FindAsync(address, cancellationToken) is { } entry ? TypedResults.Ok(entry) : NotSuppressed(address);
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteAsync(
        string address, Suppressions suppressions, CancellationToken cancellationToken)
    {
        if (!EmailFeedbackRequestValidator.BeAnAddress(address))
        {
            return BadAddress();
        }
        return await suppressions.RemoveAsync(address, cancellationToken) ? TypedResults.NoContent() : NotSuppressed(address);
    }

    private static ValidationProblem BadAddress() =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["address"] = ["The path must end in one plain e-mail address such as ann@example.com."] });

    private static ProblemHttpResult NotSuppressed(string address) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not suppressed", detail: $"'{address}' is not on the suppression list.");
}
