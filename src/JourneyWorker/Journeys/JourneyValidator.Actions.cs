using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>The checks of the nodes that act on the profile rather than message it: updateProfile and jump.</summary>
public sealed partial class JourneyValidator
{
    /// <summary>Attributes one updateProfile node may set at most.</summary>
    public const int MaxSetEntries = 50;

    private async Task CheckActionNodeAsync(
        NodeDefinition node,
        Guid? journeyId,
        Action<string?, string, string> error,
        List<ValidationIssue> warnings,
        CancellationToken cancellationToken)
    {
        switch (node.Type)
        {
            case NodeTypes.UpdateProfile:
                CheckUpdateProfile(node, error);
                break;
            case NodeTypes.Jump:
                await CheckJumpAsync(node, journeyId, error, warnings, cancellationToken);
                break;
        }

        if (node.Type != NodeTypes.UpdateProfile && node.Set is not null)
        {
            error(node.Id, "set.notAllowed", $"Node '{node.Id}' is a {node.Type} node: only updateProfile nodes take set.");
        }
        if (node.Type != NodeTypes.Jump && node.Journey is not null)
        {
            error(node.Id, "journey.notAllowed", $"Node '{node.Id}' is a {node.Type} node: only jump nodes name a journey.");
        }
    }

    private void CheckUpdateProfile(NodeDefinition node, Action<string?, string, string> error)
    {
        var set = node.Set ?? [];
        if (set.Count == 0)
        {
            error(node.Id, "updateProfile.setEmpty", $"Node '{node.Id}' sets nothing: set needs at least one \"attribute.path\": \"template\".");
            return;
        }
        if (set.Count > MaxSetEntries)
        {
            error(node.Id, "updateProfile.setTooLarge", $"Node '{node.Id}' sets {set.Count} attributes; at most {MaxSetEntries} are allowed.");
        }

        foreach (var (path, template) in set)
        {
            if (!ProfileAttributes.IsValidPath(path))
            {
                error(node.Id, "updateProfile.pathInvalid",
                    $"Node '{node.Id}' set key '{path}' is not an attribute path: names of letters, digits and '_' (not starting with a digit) "
                    + $"joined by dots, at most {ProfileAttributes.MaxPathLength} characters and {ProfileAttributes.MaxDepth} levels.");
                continue;
            }
            if (ProfileAttributes.IsConsent(path))
            {
                error(node.Id, "updateProfile.consentNotUpdatable",
                    $"Node '{node.Id}' sets '{path}': consent is not a profile attribute a journey can write; it changes only through "
                    + "the profile's consent (PUT /api/profiles) and the unsubscribe link.");
            }
            else if (ProfileAttributes.IsAddress(path))
            {
                error(node.Id, "updateProfile.identityNotUpdatable",
                    $"Node '{node.Id}' sets '{path}': {ProfileAttributes.EmailAddressPath} is the profile's e-mail address, which only the "
                    + "system that owns the profile may change.");
            }
            CheckTemplate(node, $"set.{path}", template, required: true, error);
        }

        var paths = set.Keys.Where(ProfileAttributes.IsValidPath).Order(StringComparer.Ordinal).ToList();
        foreach (var path in paths)
        {
            if (paths.FirstOrDefault(other => other != path && ProfileAttributes.IsPrefix(path, other)) is { } inner)
            {
                error(node.Id, "updateProfile.pathConflict", $"Node '{node.Id}' sets both '{path}' and '{inner}', which is inside it.");
            }
        }
    }

    private async Task CheckJumpAsync(
        NodeDefinition node, Guid? journeyId, Action<string?, string, string> error, List<ValidationIssue> warnings, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(node.Journey))
        {
            error(node.Id, "jump.journeyMissing", $"Node '{node.Id}' does not name the journey to jump into.");
            return;
        }
        var versions = !Guid.TryParse(node.Journey, out var target) ? [] : await db.JourneyVersions.AsNoTracking()
            .Where(v => v.JourneyId == target).OrderBy(v => v.Version).ToListAsync(cancellationToken);
        if (versions.Count == 0)
        {
            error(node.Id, "jump.journeyUnknown", $"Node '{node.Id}' jumps into journey '{node.Journey}', which does not exist.");
            return;
        }
        if (target == journeyId)
        {
            error(node.Id, "jump.self", $"Node '{node.Id}' jumps into its own journey: a profile is never in a journey twice at once.");
            return;
        }

        var name = await db.Journeys.Where(j => j.Id == target).Select(j => j.Name).FirstAsync(cancellationToken);
        var live = versions.LastOrDefault(v => v.Status == JourneyStatus.Live);
        var version = live ?? JourneyService.Current(versions);
        var definition = CompiledJourney.Parse(version.Definition);
        var start = definition.Nodes?.FirstOrDefault(n => n.Id is not null && n.Id == definition.Start);
        if (start?.Type != NodeTypes.JourneyEntry)
        {
            error(node.Id, "jump.targetNotJourneyEntry",
                $"Node '{node.Id}' jumps into journey '{name}', whose {(live is null ? $"version {version.Version}" : "live version")} starts with "
                + $"{start?.Type ?? "no node"}: only a journey that starts with a journeyEntry node can be jumped into.");
        }
        else if (live is null)
        {
            warnings.Add(new(node.Id, "jump.targetNotLive",
                $"Journey '{name}' has no live version: until it is published, profiles reaching '{node.Id}' do not enter it "
                + "(test profiles do while it is in test mode)."));
        }
    }
}
