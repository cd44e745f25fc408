using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Profiles;

public static class ProfileEndpoints
{
    public static IServiceCollection AddProfiles(this IServiceCollection services)
    {
        services.AddOptions<ImportOptions>().BindConfiguration(ImportOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<ProfileService>();
        services.AddScoped<ProfileImporter>();
        services.AddSingleton<ImportRuns>();
        services.AddSingleton<ProfileSql>(sp => sp.GetRequiredService<JourneyConnections>().Provider == StorageProvider.PostgreSql
            ? new PostgreSqlProfileSql()
            : new SqliteProfileSql());
        return services;
    }

    public static WebApplication MapProfiles(this WebApplication app)
    {
        var group = app.MapGroup("/api/profiles").WithTags("Profiles")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();

        const string NoProfile = "No profile has this identity.";

        group.MapPut("/{namespace}/{identity}", PutAsync).WithName("UpsertProfile")
            .WithSummary("Create or update a profile")
            .WithDescription("""
                Creates the profile that has this identity, or replaces what it holds: `identities` (namespace to value; the path
                identity is always one of them), `attributes` (any JSON object), `pushTokens`, `consent` (a channel left out keeps its
                consent, so a re-sync never re-subscribes anyone) and `testProfile`. The e-mail address is the attribute
                `personalEmail.address`, else the `email` identity.
                """)
            .Invalid("A member is not valid (an identity with a bad character or too long, a push token without a platform, ...; each named).")
            .Problem(StatusCodes.Status409Conflict, "The identities belong to different profiles: one profile cannot take them all.");
        group.MapGet("/{namespace}/{identity}", GetAsync).WithName("GetProfile")
            .WithSummary("Get a profile")
            .WithDescription("The profile that has this identity: its identities, attributes, push tokens and consent.")
            .Problem(StatusCodes.Status404NotFound, NoProfile);
        group.MapDelete("/{namespace}/{identity}", DeleteAsync).WithName("DeleteProfile")
            .WithSummary("Forget a profile")
            .WithDescription("Deletes the person: the profile, its identities and push tokens, its journey instances with their steps and messages, its tracking data and the events stored for it.")
            .Problem(StatusCodes.Status404NotFound, NoProfile);
        group.MapPost("/import", ImportEndpoints.ImportAsync).WithName("ImportProfiles")
            .Accepts<string>("application/x-ndjson")
            .WithSummary("Import profiles from NDJSON")
            .WithDescription("""
                One profile object per line, as the upsert takes it, with `identities`. The body is read as a stream (up to
                `Import:MaxBytes`, 1 GiB by default; lines up to 64 KiB) and written in batches; every bad line is reported with its
                number and the others are kept. With `Prefer: respond-async` the answer is a 202 at once, with the `Location` of the
                import (`GET /api/imports/{id}`: its progress, kept across restarts), and the body is still read from this request.
                """)
            .Produces<ImportStatusResponse>(StatusCodes.Status202Accepted)
            .Problem(StatusCodes.Status413PayloadTooLarge, "The body is larger than Import:MaxBytes.");
        return app;
    }

    private static async Task<Results<Ok<ProfileResponse>, ValidationProblem, ProblemHttpResult>> PutAsync(
        string @namespace, string identity, ProfileRequest request, ProfileService profiles, CancellationToken cancellationToken)
    {
        if (!IdentityRules.IsValid(@namespace) || !IdentityRules.IsValid(identity))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["identity"] = [IdentityRules.Message("path namespace and identity")] });
        }

        var (profile, problem) = await profiles.UpsertAsync((@namespace, identity), request, cancellationToken);
        if (problem is not null)
        {
            return problem.Status == 409
                ? TypedResults.Problem(statusCode: 409, title: "Identity conflict", detail: problem.Message)
                : TypedResults.ValidationProblem(new Dictionary<string, string[]> { [problem.Field] = [problem.Message] });
        }

        await profiles.SaveAsync(profile!, cancellationToken);
        return TypedResults.Ok(ProfileService.ToResponse(profile!));
    }

    private static async Task<Results<Ok<ProfileResponse>, ProblemHttpResult>> GetAsync(
        string @namespace, string identity, ProfileService profiles, CancellationToken cancellationToken)
    {
        var profile = await profiles.FindAsync(@namespace, identity, cancellationToken);
        return profile is null ? NotFound(@namespace, identity) : TypedResults.Ok(ProfileService.ToResponse(profile));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string @namespace, string identity, ProfileService profiles, CancellationToken cancellationToken)
    {
        var profile = await profiles.FindAsync(@namespace, identity, cancellationToken);
        if (profile is null)
        {
            return NotFound(@namespace, identity);
        }

        await profiles.DeleteAsync(profile.Id, cancellationToken);
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult NotFound(string ns, string identity) =>
        TypedResults.Problem(statusCode: 404, title: "Profile not found", detail: $"No profile has the identity {ns} '{identity}'.");
}
