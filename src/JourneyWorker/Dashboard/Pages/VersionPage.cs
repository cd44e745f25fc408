using System.Text.Json;
using JourneyWorker.Dashboard.Diagram;
using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>One version of a journey: its own diagram and its definition.</summary>
public static class VersionPage
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerOptions.Web) { WriteIndented = true };

    public static async Task<HtmlPage> RenderAsync(Guid id, int version, HttpContext context, JourneyService journeys, CancellationToken cancellationToken)
    {
        var (journey, versions) = await journeys.LoadAsync(id, cancellationToken);
        var shown = versions.FirstOrDefault(v => v.Version == version);
        if (journey is null || shown is null)
        {
            return DashboardEndpoints.NotFound(context, $"Journey {id} has no version {version}.");
        }
        var definition = CompiledJourney.Parse(shown.Definition);
        var diagram = DiagramSvg.Framed(DiagramGraph.From(definition),
            new DiagramOptions("version-diagram", $"Diagram of {journey.Name}, version {shown.Version} ({shown.Status})"));
        return Layout.Page(context, $"{journey.Name} v{shown.Version}", Section.Journeys, Html($"""
            <p><a href="/dashboard">Journeys</a> › <a href="/dashboard/journeys/{id}">{journey.Name}</a> › Version {shown.Version}</p>
            <h1>{journey.Name}, version {shown.Version} {Layout.Status(shown.Status)}</h1>
            <p class="muted">Created {Layout.Time(shown.CreatedAt)} · published {Layout.Time(shown.PublishedAt)} · ended {Layout.Time(shown.EndedAt)}{(shown.TestMode ? " · test mode on" : "")}</p>
            <p>Counts per node are on <a href="/dashboard/journeys/{id}">the journey's page</a>: the report adds up every version by node id.</p>
            {JourneyPage.Legend(withPath: false)}
            {diagram}
            <h2>Definition</h2>
            <pre>{JsonSerializer.Serialize(definition, Indented)}</pre>
            """));
    }
}
