using JourneyWorker.Audiences;
using JourneyWorker.Events;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Definitions;

public enum ChangeKind { Create, Update, Unchanged, Publish }

/// <summary>One line of the plan: what happens to one definition, and for a changed one the diff (server '-', folder '+').</summary>
public sealed record PlannedChange(string Kind, string Name, string File, ChangeKind Change, Guid? Id = null, string? Note = null)
{
    public IReadOnlyList<string> Diff { get; init; } = [];
}

/// <summary>
/// What <c>apply</c> would do: each definition of the folder matched by name with the server's, created when the server has
/// none, updated when its definition differs, left alone when it does not. Journeys are compared as the folder writes them
/// (audiences and journeys by name); a live version is never edited: a change to it becomes a new version.
/// </summary>
public sealed partial class ApplyPlan
{
    public const string AudienceKind = "audience";
    public const string EventConfigKind = "event config";
    public const string JourneyKind = "journey";

    private ApplyPlan(DefinitionFolder folder, DefinitionsApi.ServerState server, bool publish)
    {
        Publish = publish;
        // Only a name the server gives one definition identifies it; an ambiguous name is a problem where it is used.
        foreach (var group in server.Audiences.GroupBy(a => a.Name))
        {
            if (group.Count() == 1)
            {
                _audienceIds[group.Key] = group.Single().Id;
            }
        }
        foreach (var group in server.Journeys.GroupBy(j => j.Name, StringComparer.Ordinal))
        {
            if (group.Count() == 1)
            {
                _journeyIds[group.Key] = group.Single().Id;
            }
        }
        _audienceNames = server.Audiences.ToDictionary(a => a.Id, a => a.Name);
        _journeyNames = server.Journeys.ToDictionary(j => j.Id, j => j.Name);
        _folderAudiences = [.. folder.Audiences.Select(a => a.Definition.Name?.Trim()).OfType<string>()];
        _folderJourneys = [.. folder.Journeys.Select(j => j.Definition.Name).OfType<string>()];
        _server = server;
    }

    private readonly DefinitionsApi.ServerState _server;
    private readonly Dictionary<string, Guid> _audienceIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Guid> _journeyIds = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, string> _audienceNames;
    private readonly Dictionary<Guid, string> _journeyNames;
    private readonly HashSet<string> _folderAudiences;
    private readonly HashSet<string> _folderJourneys;

    public bool Publish { get; }
    public List<DefinitionProblem> Problems { get; } = [];
    public List<(PlannedChange Change, AudienceRequest Definition)> Audiences { get; } = [];
    public List<(PlannedChange Change, EventConfigRequest Definition)> EventConfigs { get; } = [];

    /// <summary>Journeys in the order they are applied: a journey after the journeys it jumps into.</summary>
    public List<(PlannedChange Change, JourneyDefinition Definition)> Journeys { get; } = [];

    public IEnumerable<PlannedChange> Changes =>
        Audiences.Select(a => a.Change).Concat(EventConfigs.Select(c => c.Change)).Concat(Journeys.Select(j => j.Change));

    public bool HasWork => Changes.Any(c => c.Change != ChangeKind.Unchanged);

    /// <summary>The server's names alone: what export writes references with.</summary>
    internal static ApplyPlan ForServer(DefinitionsApi.ServerState server) => new(new DefinitionFolder { Root = "" }, server, publish: false);

    /// <summary>The plan for a folder that loaded without errors.</summary>
    public static ApplyPlan Make(DefinitionFolder folder, DefinitionsApi.ServerState server, bool publish)
    {
        var plan = new ApplyPlan(folder, server, publish);
        foreach (var (file, audience) in folder.Audiences)
        {
            var name = audience.Name!.Trim();
            var change = plan.Match(file, AudienceKind, name, [.. server.Audiences.Where(a => a.Name == name)], a => a.Id,
                a => DefinitionJson.Text(new AudienceRequest(a.Name, a.Rule)), DefinitionJson.Text(audience));
            plan.Audiences.Add((change, DefinitionJson.Canonical(audience)));
        }
        foreach (var (file, config) in folder.EventConfigs)
        {
            var change = plan.Match(file, EventConfigKind, config.Name!, [.. server.EventConfigs.Where(c => c.Name == config.Name)], c => c.Id,
                c => DefinitionJson.Text(DefinitionJson.ToRequest(c)), DefinitionJson.Text(config));
            plan.EventConfigs.Add((change, DefinitionJson.Canonical(config)));
        }
        foreach (var (file, journey) in JumpTargetsFirst(folder.Journeys))
        {
            plan.CheckReferences(file, journey);
            var matches = server.Journeys.Where(j => j.Name == journey.Name).ToList();
            var change = plan.Match(file, JourneyKind, journey.Name!, matches, j => j.Id,
                j => DefinitionJson.Text(plan.InNames(j.Definition)), DefinitionJson.Text(plan.InNames(journey)));
            plan.Journeys.Add((Versioned(change, matches, publish), journey));
        }
        return plan;
    }

    /// <summary>Create, update or unchanged, by comparing the folder's text with the text of the one server definition of that name.</summary>
    private PlannedChange Match<T>(string file, string kind, string name, List<T> matches, Func<T, Guid> id, Func<T, string> serverText, string folderText)
    {
        if (matches.Count > 1)
        {
            Problems.Add(new(file, "name", $"{kind.Replace(' ', '-')}.ambiguous",
                $"The server has {matches.Count} {kind}s named '{name}' ({string.Join(", ", matches.Select(id))}); rename or delete all but one."));
            return new(kind, name, file, ChangeKind.Unchanged);
        }
        if (matches.Count == 0)
        {
            return new(kind, name, file, ChangeKind.Create);
        }
        var before = serverText(matches[0]);
        return before == folderText
            ? new(kind, name, file, ChangeKind.Unchanged, id(matches[0]))
            : new(kind, name, file, ChangeKind.Update, id(matches[0])) { Diff = TextDiff.Lines(before, folderText) };
    }

    /// <summary>A journey change names the version it makes: a draft is edited in place, anything else gets a new draft version.</summary>
    private static PlannedChange Versioned(PlannedChange change, List<JourneyResponse> matches, bool publish)
    {
        var then = publish ? ", then published" : "";
        if (matches.Count != 1)
        {
            return change.Change == ChangeKind.Create ? change with { Note = "new journey, version 1" + then } : change;
        }
        var current = matches[0];
        var isDraft = current.Status == JourneyStatus.Draft;
        return change.Change switch
        {
            ChangeKind.Update when isDraft => change with { Note = $"draft version {current.Version} updated{then}" },
            ChangeKind.Update => change with
            {
                Note = $"{current.Status} version {current.Version} stays; new draft version {current.Versions.Max(v => v.Version) + 1}{then}",
            },
            ChangeKind.Unchanged when isDraft && publish => change with { Change = ChangeKind.Publish, Note = $"draft version {current.Version} published" },
            _ => change with { Note = $"{current.Status} version {current.Version}" },
        };
    }

    /// <summary>An audience or jump target the folder names must be in the folder or on the server (an id is left to the server to judge).</summary>
    private void CheckReferences(string file, JourneyDefinition journey)
    {
        foreach (var (node, audience) in JourneyReferences.Audiences(journey))
        {
            var name = audience.Trim();
            if (!_folderAudiences.Contains(name) && !_audienceIds.ContainsKey(name) && !Guid.TryParse(audience, out _))
            {
                Problems.Add(_server.Audiences.Count(a => a.Name == name) > 1
                    ? new(file, node, "audience.ambiguous", $"Node '{node}' names audience '{audience}': the server has several of that name and the folder none.")
                    : new(file, node, "audience.unknown", $"Node '{node}' names audience '{audience}', which is neither in the folder nor on the server."));
            }
        }
        foreach (var (node, target) in JourneyReferences.Journeys(journey))
        {
            if (!_folderJourneys.Contains(target) && !_journeyIds.ContainsKey(target) && !Guid.TryParse(target, out _))
            {
                Problems.Add(_server.Journeys.Count(j => j.Name == target) > 1
                    ? new(file, node, "jump.journeyAmbiguous", $"Node '{node}' jumps into journey '{target}': the server has several of that name and the folder none.")
                    : new(file, node, "jump.journeyUnknown", $"Node '{node}' jumps into journey '{target}', which is neither in the folder nor on the server."));
            }
        }
    }

    /// <summary>A definition as the folder writes it: ids the server knows become names, names stay names.</summary>
    internal JourneyDefinition InNames(JourneyDefinition journey) => JourneyReferences.Map(journey,
        a => Guid.TryParse(a, out var id) && _audienceNames.TryGetValue(id, out var name) ? name
            : _folderAudiences.Contains(a.Trim()) || _audienceIds.ContainsKey(a.Trim()) ? a.Trim() : a,
        j => Guid.TryParse(j, out var id) && _journeyNames.TryGetValue(id, out var name) ? name : j);

    /// <summary>
    /// A definition as the server stores it: names become ids (of definitions on the server or created by this apply).
    /// <paramref name="pending"/> says whether a jump names a journey of the folder that is not created yet (journeys that jump into each other).
    /// </summary>
    internal JourneyDefinition InIds(JourneyDefinition journey, out bool pending)
    {
        var waiting = false;
        var mapped = JourneyReferences.Map(journey,
            a => _audienceIds.TryGetValue(a.Trim(), out var id) ? id.ToString() : a,
            j =>
            {
                if (_journeyIds.TryGetValue(j, out var id))
                {
                    return id.ToString();
                }
                waiting |= _folderJourneys.Contains(j);
                return j;
            });
        pending = waiting;
        return mapped;
    }

    /// <summary>Depth first over the jumps between the folder's journeys; a cycle is broken where it closes (see <see cref="InIds"/>).</summary>
    private static List<DefinitionFile<JourneyDefinition>> JumpTargetsFirst(List<DefinitionFile<JourneyDefinition>> journeys)
    {
        var byName = journeys.ToDictionary(j => j.Definition.Name!, StringComparer.Ordinal);
        var ordered = new List<DefinitionFile<JourneyDefinition>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Visit(DefinitionFile<JourneyDefinition> journey)
        {
            if (!seen.Add(journey.Definition.Name!))
            {
                return;
            }
            foreach (var (_, target) in JourneyReferences.Journeys(journey.Definition))
            {
                if (byName.TryGetValue(target, out var next))
                {
                    Visit(next);
                }
            }
            ordered.Add(journey);
        }
        journeys.ForEach(Visit);
        return ordered;
    }
}
