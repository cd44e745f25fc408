using JourneyWorker.Channels.Templates;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

public sealed record ValidationIssue(string? Node, string Code, string Message);

public sealed record JourneyValidationResult(bool Valid, IReadOnlyList<ValidationIssue> Errors, IReadOnlyList<ValidationIssue> Warnings);

/// <summary>
/// Checks a journey graph before it may run. Each problem has a stable code, the node it belongs
/// to and a message; errors block test mode and publishing, warnings do not.
/// </summary>
public sealed partial class JourneyValidator(JourneyDbContext db, TemplateRenderer templates, WebhookHosts webhookHosts)
{
    public const int MaxNodes = 50;
    public static readonly TimeSpan MinReactionTimeout = TimeSpan.FromSeconds(40);
    public static readonly TimeSpan MaxReactionTimeout = TimeSpan.FromDays(90);
    public static readonly TimeSpan DefaultJourneyTimeout = JourneyDefinition.DefaultTimeout;

    /// <summary>The longest journey timeout or re-entrance wait period: ten years.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(3650);

    public Task<JourneyValidationResult> ValidateAsync(JourneyDefinition definition, CancellationToken cancellationToken) =>
        ValidateAsync(definition, null, cancellationToken);

    /// <summary>Validates <paramref name="definition"/>; <paramref name="journeyId"/> is the journey it belongs to when it is stored (a jump into itself is refused).</summary>
    public async Task<JourneyValidationResult> ValidateAsync(JourneyDefinition definition, Guid? journeyId, CancellationToken cancellationToken)
    {
        var errors = new List<ValidationIssue>();
        var warnings = new List<ValidationIssue>();
        void Error(string? node, string code, string message) => errors.Add(new(node, code, message));

        if (string.IsNullOrWhiteSpace(definition.Name))
        {
            Error(null, "name.required", "The journey needs a name.");
        }

        var journeyTimeout = DefaultJourneyTimeout;
        if (definition.Timeout is not null && !IsoDuration.TryParse(definition.Timeout, out journeyTimeout))
        {
            Error(null, "journey.timeoutInvalid", $"The journey timeout '{definition.Timeout}' is not an ISO 8601 duration such as P91D.");
            journeyTimeout = DefaultJourneyTimeout;
        }
        else if (journeyTimeout > MaxDuration)
        {
            // Deadlines are computed as now + timeout: an unbounded one overflows the calendar at admission.
            Error(null, "journey.timeoutInvalid", $"The journey timeout '{definition.Timeout}' is longer than {IsoDuration.Format(MaxDuration)}.");
            journeyTimeout = DefaultJourneyTimeout;
        }

        if (definition.Reentrance?.WaitPeriod is { } waitPeriod && (!IsoDuration.TryParse(waitPeriod, out var wait) || wait > MaxDuration))
        {
            Error(null, "reentrance.waitPeriodInvalid", $"The re-entrance wait period '{waitPeriod}' is not an ISO 8601 duration up to {IsoDuration.Format(MaxDuration)}.");
        }

        await CheckCriteriaAsync(definition, Error, cancellationToken);

        var nodes = definition.Nodes ?? [];
        if (nodes.Count == 0)
        {
            Error(null, "nodes.empty", "The journey has no nodes.");
            return new(false, errors, warnings);
        }

        if (nodes.Count > MaxNodes)
        {
            Error(null, "nodes.tooMany", $"The journey has {nodes.Count} nodes; at most {MaxNodes} are allowed.");
        }

        var byId = new Dictionary<string, NodeDefinition>(StringComparer.Ordinal);
        foreach (var (node, index) in nodes.Select((n, i) => (n, i)))
        {
            if (string.IsNullOrWhiteSpace(node.Id))
            {
                Error($"#{index}", "node.idMissing", $"Node #{index} has no id.");
            }
            else if (!byId.TryAdd(node.Id, node))
            {
                Error(node.Id, "node.duplicateId", $"The id '{node.Id}' is used by more than one node.");
            }

            if (node.Type is null || !NodeTypes.All.Contains(node.Type))
            {
                Error(node.Id, "node.typeUnknown", $"Unknown node type '{node.Type}'; expected one of {string.Join(", ", NodeTypes.All)}.");
            }

            foreach (var unknown in node.Unknown?.Select(p => p.Key) ?? [])
            {
                Error(node.Id, "node.unknownProperty", $"Node '{node.Id}' has an unknown property '{unknown}'.");
            }
        }

        CheckStart(definition, byId, Error);
        CheckTargets(byId, Error);
        var graph = new JourneyGraph(byId);
        if (graph.FindCycle() is { } cycle)
        {
            Error(cycle[0], "graph.cycle", $"The nodes form a cycle: {string.Join(" → ", cycle)} → {cycle[0]}.");
        }

        if (definition.Start is not null && byId.ContainsKey(definition.Start))
        {
            var reachable = graph.Reachable(definition.Start);
            foreach (var id in byId.Keys.Where(id => !reachable.Contains(id)))
            {
                warnings.Add(new(id, "node.unreachable", $"Node '{id}' cannot be reached from the start node."));
            }
        }

        var predecessors = graph.Predecessors();
        foreach (var node in byId.Values)
        {
            await CheckNodeAsync(node, definition, byId, predecessors, journeyTimeout, Error, warnings, cancellationToken);
            await CheckActionNodeAsync(node, journeyId, Error, warnings, cancellationToken);
        }

        return new(errors.Count == 0, errors, warnings);
    }

    private static void CheckStart(JourneyDefinition definition, Dictionary<string, NodeDefinition> byId, Action<string?, string, string> error)
    {
        if (string.IsNullOrWhiteSpace(definition.Start))
        {
            error(null, "start.missing", "The journey has no start node.");
        }
        else if (!byId.TryGetValue(definition.Start, out var start))
        {
            error(definition.Start, "start.unknownNode", $"The start node '{definition.Start}' does not exist.");
        }
        else if (start.Type is not (NodeTypes.ReadAudience or NodeTypes.Event or NodeTypes.JourneyEntry or NodeTypes.AudienceQualification))
        {
            error(start.Id, "start.notEntry", $"The start node '{start.Id}' must be a readAudience, event, journeyEntry or audienceQualification node, not {start.Type}.");
        }

        foreach (var node in byId.Values.Where(n => n.Type == NodeTypes.ReadAudience && n.Id != definition.Start))
        {
            error(node.Id, "entry.notStart", $"Node '{node.Id}' is a readAudience entry but not the start node: a journey has exactly one entry.");
        }
        foreach (var node in byId.Values.Where(n => n.Type == NodeTypes.JourneyEntry && n.Id != definition.Start))
        {
            error(node.Id, "journeyEntry.notStart", $"Node '{node.Id}' is a journeyEntry but not the start node: profiles jumped in from another journey enter at the start.");
        }
        foreach (var node in byId.Values.Where(n => n.Type == NodeTypes.AudienceQualification && n.Id != definition.Start))
        {
            error(node.Id, "audienceQualification.notStart",
                $"Node '{node.Id}' is an audienceQualification entry but not the start node: profiles qualify into a journey at its start.");
        }
    }

    private static void CheckTargets(Dictionary<string, NodeDefinition> byId, Action<string?, string, string> error)
    {
        foreach (var node in byId.Values)
        {
            foreach (var (field, target) in JourneyGraph.Targets(node))
            {
                if (!byId.ContainsKey(target))
                {
                    error(node.Id, "next.unknown", $"Node '{node.Id}' {field} names '{target}', which does not exist.");
                }
                else if (target == node.Id)
                {
                    error(node.Id, "graph.cycle", $"Node '{node.Id}' {field} points at itself.");
                }
            }
        }
    }
}
