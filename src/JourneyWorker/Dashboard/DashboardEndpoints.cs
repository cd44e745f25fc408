using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Dashboard.Pages;
using JourneyWorker.Journeys;
using Microsoft.AspNetCore.Http.HttpResults;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard;

/// <summary>
/// The dashboard at /dashboard (CONTRACT "Operations 2"): server-rendered pages over the same services the API uses,
/// signed in with the admin key, with nothing loaded from anywhere else.
/// </summary>
public static class DashboardEndpoints
{
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddDashboardAuth();
        services.AddScoped<DashboardReads>();
        return services;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        var dashboard = app.MapGroup("/dashboard").ExcludeFromDescription();
        DashboardAuth.MapSignIn(dashboard);

        var pages = dashboard.MapGroup("").RequireAuthorization(DashboardAuth.Policy);
        pages.MapGet("", JourneyListPage.RenderAsync);
        pages.MapGet("/journeys/{id:guid}", JourneyPage.RenderAsync);
        pages.MapGet("/journeys/{id:guid}/live", LiveAsync);
        pages.MapGet("/journeys/{id:guid}/versions/{version:int}", VersionPage.RenderAsync);
        pages.MapPost("/journeys/{id:guid}/actions/{action}", JourneyActions.RunAsync).AddEndpointFilter<AntiforgeryFilter>();
        pages.MapGet("/instances", InstancesPage.LookupAsync);
        pages.MapGet("/instances/{id:long}", InstancesPage.InstanceAsync);
        pages.MapGet("/audiences", AudiencesPage.RenderAsync);
        pages.MapGet("/events", EventsPage.RenderAsync);
        // Any other dashboard URL: signed out, it sends to sign-in like the rest; signed in, it is a page that says so.
        pages.MapGet("/{**rest}", (HttpContext context) => NotFound(context, "There is no dashboard page at this address."));
        return app;
    }

    /// <summary>The journey's report, exactly as GET /api/journeys/{id}/report answers it: what an open journey page polls.</summary>
    private static async Task<Results<Ok<JourneyReport>, NotFound>> LiveAsync(Guid id, HttpContext context, JourneyReports reports, CancellationToken cancellationToken)
    {
        HtmlPage.Secure(context.Response);
        var report = await reports.ReportAsync(id, cancellationToken);
        return report is null ? TypedResults.NotFound() : TypedResults.Ok(report);
    }

    public static HtmlPage NotFound(HttpContext context, string detail) =>
        Layout.Page(context, "Not found", Section.None, Html($"""
            <h1>Not found</h1>
            <p>{detail}</p>
            <p><a href="/dashboard">Back to the journeys</a></p>
            """), status: StatusCodes.Status404NotFound);
}
