using JourneyWorker.Dashboard.Diagram;
using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>
/// A person's journeys: looked up by namespace:identity, each instance with its path drawn on its version's diagram
/// and its steps. Also one instance by id (where a failure links to).
/// </summary>
public static class InstancesPage
{
    public const int InstancesShown = 50;

    public static async Task<HtmlPage> LookupAsync(string? profile, HttpContext context, ProfileService profiles, JourneyReports reports,
        JourneyService journeys, CancellationToken cancellationToken)
    {
        profile = profile?.Trim();
        Markup result = Empty;
        if (!string.IsNullOrEmpty(profile))
        {
            var colon = profile.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == profile.Length - 1)
            {
                result = Layout.Notice("Write the profile as namespace:identity, e.g. email:ann@example.com.", error: true);
            }
            else if (await profiles.FindAsync(profile[..colon], profile[(colon + 1)..], cancellationToken) is not { } found)
            {
                result = Layout.Notice($"No profile has the identity {profile}.", error: true);
            }
            else
            {
                var instances = await reports.ProfileInstancesAsync(found.Id, InstancesShown, cancellationToken);
                var sections = new List<Markup>();
                var names = new Dictionary<Guid, (Journey? Journey, List<JourneyVersion> Versions)>();
                foreach (var instance in instances)
                {
                    if (!names.TryGetValue(instance.JourneyId, out var loaded))
                    {
                        names[instance.JourneyId] = loaded = await journeys.LoadAsync(instance.JourneyId, cancellationToken);
                    }
                    sections.Add(Section(instance, loaded.Journey, loaded.Versions, headingLevel: 2));
                }
                var identities = string.Join(", ", found.Identities.OrderBy(i => i.Namespace, StringComparer.Ordinal).Select(i => $"{i.Namespace}:{i.Value}"));
                result = Html($"""
                    <p>Profile <strong>#{found.Id}</strong> ({identities}){(found.IsTest ? Html($" · <span class=\"test\">test profile</span>") : Empty)}:
                    {(instances.Count == 0 ? Text("in no journey.") : Text($"{instances.Count} instance(s), newest first."))}</p>
                    {sections}
                    """);
            }
        }
        return Layout.Page(context, "Instances", Rendering.Section.Instances, Html($"""
            <h1>Instances of a profile</h1>
            <form method="get" action="/dashboard/instances" class="inline-form" role="search">
            <div><label for="profile">Profile (namespace:identity)</label>
            <input type="search" id="profile" name="profile" value="{profile}" placeholder="email:ann@example.com" required></div>
            <button type="submit" class="primary">Look up</button>
            </form>
            {result}
            """));
    }

    public static async Task<HtmlPage> InstanceAsync(long id, HttpContext context, JourneyReports reports, JourneyService journeys, CancellationToken cancellationToken)
    {
        var instance = await reports.InstanceAsync(id, cancellationToken);
        if (instance is null)
        {
            return DashboardEndpoints.NotFound(context, $"No journey instance has the id {id}.");
        }
        var (journey, versions) = await journeys.LoadAsync(instance.JourneyId, cancellationToken);
        return Layout.Page(context, $"Instance #{id}", Rendering.Section.Instances, Html($"""
            <p><a href="/dashboard">Journeys</a> › <a href="/dashboard/journeys/{instance.JourneyId}">{journey?.Name ?? "journey"}</a> › Instance #{id}</p>
            {Section(instance, journey, versions, headingLevel: 1)}
            """));
    }

    private static Markup Section(InstanceResponse instance, Journey? journey, List<JourneyVersion> versions, int headingLevel)
    {
        var name = journey?.Name ?? instance.JourneyId.ToString();
        var version = versions.FirstOrDefault(v => v.Version == instance.Version);
        var diagram = Empty;
        if (version is not null)
        {
            var graph = DiagramGraph.From(CompiledJourney.Parse(version.Definition));
            diagram = Html($"""
                {JourneyPage.Legend(withPath: true)}
                {DiagramSvg.Framed(graph, new DiagramOptions($"instance-{instance.Id}", $"Path of instance #{instance.Id} through {name}, version {instance.Version}")
                {
                    Path = InstancePath.Of(graph, instance),
                })}
                """);
        }
        var heading = Html($"""<a href="/dashboard/journeys/{instance.JourneyId}">{name}</a> · version {instance.Version} · instance #{instance.Id} {Layout.Status(instance.Status)}""");
        var where = instance.Status is InstanceStatus.Active or InstanceStatus.Waiting
            ? Text($"At {instance.Node}" + (instance.WaitingFor is { } w ? $", waiting for {w}" : "") + (instance.DueAt is { } due ? $" until {Layout.Time(due)}" : ""))
            : Text($"Ended {Layout.Time(instance.EndedAt)}" + (instance.EndReason is { } r ? $": {r}" : ""));
        return Html($"""
            <section class="instance" aria-label="Instance {instance.Id}">
            {(headingLevel == 1 ? Html($"<h1>{heading}</h1>") : Html($"<h2>{heading}</h2>"))}
            <p>Entered {Layout.Time(instance.EnteredAt)} · {where}{(instance.Test ? Html($" · <span class=\"test\">test</span>") : Empty)}</p>
            {diagram}
            <table>
            <caption class="muted">Steps of instance #{instance.Id}</caption>
            <thead><tr><th scope="col" class="num">#</th><th scope="col">Node</th><th scope="col">Outcome</th><th scope="col">At</th><th scope="col">Detail</th></tr></thead>
            <tbody>{instance.Steps.Select(s => Html($"""<tr><td class="num">{s.Seq}</td><td>{s.Node}</td><td>{s.Outcome}</td><td>{Layout.Time(s.At)}</td><td>{s.Detail ?? ""}</td></tr>"""))}</tbody>
            </table>
            </section>
            """);
    }
}
