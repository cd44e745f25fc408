using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
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
        return services;
    }

    public static WebApplication MapProfiles(this WebApplication app)
    {
        var group = app.MapGroup("/api/profiles").WithTags("Profiles")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy).WithValidation();

        group.MapPut("/{namespace}/{identity}", PutAsync).WithName("UpsertProfile");
        group.MapGet("/{namespace}/{identity}", GetAsync).WithName("GetProfile");
        group.MapDelete("/{namespace}/{identity}", DeleteAsync).WithName("DeleteProfile");
        group.MapPost("/import", ImportAsync).WithName("ImportProfiles")
            .Accepts<string>("application/x-ndjson")
            .WithDescription("NDJSON, one profile object per line; streamed, each bad line reported with its number.");
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

    private static async Task<Ok<ImportResponse>> ImportAsync(
        HttpContext context, ProfileImporter importer, IOptions<ImportOptions> options, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.Value.MaxBytes;
        }

        return TypedResults.Ok(await importer.ImportAsync(context.Request.BodyReader, cancellationToken));
    }

    private static ProblemHttpResult NotFound(string ns, string identity) =>
        TypedResults.Problem(statusCode: 404, title: "Profile not found", detail: $"No profile has the identity {ns} '{identity}'.");
}
