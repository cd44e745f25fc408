using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Data;
using JourneyWorker.Events;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>Every event configuration with the last events that matched it, and the last events that matched none.</summary>
public static class EventsPage
{
    public const int PerConfiguration = 5;

    public static async Task<HtmlPage> RenderAsync(HttpContext context, JourneyDbContext db, DashboardReads reads, CancellationToken cancellationToken)
    {
        var configs = await db.EventConfigs.AsNoTracking().OrderBy(c => c.Name).Take(DashboardReads.ListLimit).ToListAsync(cancellationToken);
        var events = await reads.RecentEventsAsync(cancellationToken);
        var shown = configs.ToDictionary(c => c.Name, c => events.Where(e => e.Matched.Contains(c.Name)).Take(PerConfiguration).ToList(), StringComparer.Ordinal);
        var unmatched = events.Where(e => e.Matched.Count == 0).Take(PerConfiguration).ToList();
        // Each profile by the identity its event found it by (the configuration's namespace), linked to its instances.
        var namespaces = shown.Values.SelectMany(list => list).Where(e => e.ProfileId is not null)
            .GroupBy(e => e.ProfileId!.Value).ToDictionary(g => g.Key, g => configs.FirstOrDefault(c => g.First().Matched.Contains(c.Name))?.Namespace);
        var identities = await reads.IdentitiesAsync(namespaces.Keys, id => namespaces.GetValueOrDefault(id), cancellationToken);
        var sections = configs.Select(c =>
        {
            var matching = shown[c.Name];
            var how = c.IdType == EventConfigRequestValidator.SystemGenerated ? $"eventID {c.EventId}" : $"when {c.Condition}";
            return Html($"""
                <section aria-labelledby="config-{c.Id}">
                <h2 id="config-{c.Id}">{c.Name}</h2>
                <p><code>{how}</code> · profile by <code>{c.Namespace}</code> from <code>{c.ProfileIdentifier}</code></p>
                {Events(matching, identities, $"No event among the last {DashboardReads.RecentEvents} received matched {c.Name}.")}
                </section>
                """);
        });
        return Layout.Page(context, "Events", Section.Events, Html($"""
            <h1>Event configurations</h1>
            <p class="muted">The last {PerConfiguration} events each configuration matched, among the last {DashboardReads.RecentEvents} received.</p>
            {(configs.Count == 0 ? Html($"<p>No event configuration yet. Create one with <code>POST /api/event-configs</code>.</p>") : Empty)}
            {sections}
            <section aria-labelledby="unmatched">
            <h2 id="unmatched">Matched no configuration</h2>
            {Events(unmatched, identities, "None lately.")}
            </section>
            """));
    }

    private static Markup Events(List<EventRow> events, Dictionary<long, string> identities, string none) => events.Count == 0
        ? Html($"<p class=\"muted\">{none}</p>")
        : Html($"""
            <table>
            <thead><tr><th scope="col">Received</th><th scope="col">Profile</th><th scope="col" class="num">Routed</th><th scope="col">Payload</th></tr></thead>
            <tbody>{events.Select(e => Html($"""
                <tr><td>{Layout.Time(e.ReceivedAt)}</td><td>{Profile(e, identities)}</td><td class="num">{e.Routed}</td><td><code>{e.Payload}</code></td></tr>
                """))}</tbody>
            </table>
            """);

    private static Markup Profile(EventRow e, Dictionary<long, string> identities) => e.ProfileId switch
    {
        { } id when identities.TryGetValue(id, out var identity) =>
            Html($"""<a href="/dashboard/instances?profile={Uri.EscapeDataString(identity)}">{identity}</a>"""),
        { } id => Text($"#{id}"),
        null => Text(e.Reason ?? "no profile"),
    };
}
