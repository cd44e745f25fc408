using Microsoft.OpenApi;

namespace JourneyWorker.Infrastructure;

public static class SwaggerSetup
{
    public static IServiceCollection AddSwagger(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(c =>
        {
            c.SwaggerDoc("v1", new OpenApiInfo { Title = "JourneyWorker", Version = "v1", Description = "Self-hosted customer-journey engine: admin and event intake API." });
            c.AddSecurityDefinition(ApiKeyAuthenticationHandler.SchemeName, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "Security:AdminApiKey for every /api route; Security:IngestApiKey also works for POST /api/events.",
            });
            c.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [],
            });
            c.CustomSchemaIds(t => t.FullName!.Replace("JourneyWorker.", "", StringComparison.Ordinal).Replace('+', '.'));
        });
        return services;
    }

    public static WebApplication MapSwagger(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(o => o.DocumentTitle = "JourneyWorker API");
        return app;
    }
}
