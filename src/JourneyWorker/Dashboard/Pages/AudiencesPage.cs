using JourneyWorker.Dashboard.Rendering;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>Every audience with its rule and how many profiles it matches now (the preview's count).</summary>
public static class AudiencesPage
{
    public static async Task<HtmlPage> RenderAsync(HttpContext context, DashboardReads reads, CancellationToken cancellationToken)
    {
        var audiences = await reads.AudiencesAsync(cancellationToken);
        var body = audiences.Count == 0
            ? Html($"<p>No audience yet. Create one with <code>POST /api/audiences</code>.</p>")
            : Html($"""
                <table>
                <thead><tr><th scope="col">Audience</th><th scope="col">Rule</th><th scope="col" class="num">Profiles now</th></tr></thead>
                <tbody>{audiences.Select(a => Html($"""
                    <tr><th scope="row">{a.Name}<br><code class="muted">{a.Id}</code></th><td><code>{a.Rule}</code></td><td class="num">{a.Count}</td></tr>
                    """))}</tbody>
                </table>
                """);
        return Layout.Page(context, "Audiences", Section.Audiences, Html($"""
            <h1>Audiences</h1>
            <p class="muted">Profiles now: the count of GET /api/audiences/(id)/preview, computed as the page loads.</p>
            {body}
            """));
    }
}
