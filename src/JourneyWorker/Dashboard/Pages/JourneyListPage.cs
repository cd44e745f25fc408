using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Data;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>The dashboard's home: every journey with its status, live version and instances by status.</summary>
public static class JourneyListPage
{
    public static readonly string[] Statuses = [InstanceStatus.Active, InstanceStatus.Waiting, InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Exited];

    public static async Task<HtmlPage> RenderAsync(HttpContext context, DashboardReads reads, CancellationToken cancellationToken)
    {
        var journeys = await reads.JourneysAsync(cancellationToken);
        var rows = journeys.Select(j => Html($"""
            <tr>
            <th scope="row"><a href="/dashboard/journeys/{j.Id}">{j.Name}</a></th>
            <td>{Layout.Status(j.Status)}{(j.TestVersion is { } t ? Html($" <span class=\"test\">draft v{t} in test mode</span>") : Empty)}</td>
            <td class="num">{(j.LiveVersion is { } v ? Text($"v{v}") : Text("—"))}</td>
            <td class="num">{j.Versions}</td>
            {Statuses.Select(s => Html($"""<td class="num">{j.Instances.GetValueOrDefault(s)}</td>"""))}
            </tr>
            """));
        var table = journeys.Count == 0
            ? Html($"<p>No journey yet. Create one with <code>POST /api/journeys</code> or <code>JourneyWorker apply</code>.</p>")
            : Html($"""
                <table>
                <caption class="muted">Instances are counted over every version of the journey.</caption>
                <thead><tr><th scope="col">Journey</th><th scope="col">Status</th><th scope="col" class="num">Live version</th><th scope="col" class="num">Versions</th>
                {Statuses.Select(s => Html($"""<th scope="col" class="num">{s}</th>"""))}</tr></thead>
                <tbody>{rows}</tbody>
                </table>
                """);
        return Layout.Page(context, "Journeys", Section.Journeys, Html($"""
            <h1>Journeys</h1>
            {table}
            """));
    }
}
