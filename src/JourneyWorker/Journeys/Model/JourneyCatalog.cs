using System.Collections.Concurrent;
using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys.Model;

/// <summary>A journey version ready to run: nodes by id, parsed durations and conditions.</summary>
public sealed class CompiledJourney
{
    public CompiledJourney(JourneyVersion version, string journeyName, JourneyDefinition definition)
    {
        Version = version;
        JourneyName = journeyName;
        Definition = definition;
        Nodes = (definition.Nodes ?? []).Where(n => n.Id is not null).ToDictionary(n => n.Id!, StringComparer.Ordinal);
        Timeout = IsoDuration.TryParse(definition.Timeout, out var t) ? t : JourneyDefinition.DefaultTimeout;
        Start = definition.Start is not null && Nodes.TryGetValue(definition.Start, out var start) ? start : null;
        HasEmail = Nodes.Values.Any(n => n.Type == NodeTypes.Email);
        HasReactions = Nodes.Values.Any(n => n.Type == NodeTypes.Reaction);
        HasMessages = HasEmail || Nodes.Values.Any(n => n.Type is NodeTypes.Push or NodeTypes.Webhook);
        HasMarketing = Nodes.Values.Any(n => (n.Type is NodeTypes.Email or NodeTypes.Push) && n.Category != Data.MessageCategory.Transactional);
        foreach (var node in Nodes.Values)
        {
            foreach (var branch in node.Branches ?? [])
            {
                if (branch.When is not null && ExpressionParser.TryParse(branch.When, out var expression, out _))
                {
                    Conditions[branch.When] = expression!;
                }
            }
        }
    }

    public JourneyVersion Version { get; }
    public string JourneyName { get; }
    public JourneyDefinition Definition { get; }
    public IReadOnlyDictionary<string, NodeDefinition> Nodes { get; }
    public NodeDefinition? Start { get; }
    public TimeSpan Timeout { get; }
    public Dictionary<string, Expression> Conditions { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether instances of this version can send messages (webhook calls included: they have outbox rows too), wait for reactions or send e-mail: what a batch must read for them.</summary>
    public bool HasMessages { get; }
    public bool HasReactions { get; }
    public bool HasEmail { get; }

    /// <summary>Whether instances of this version can send messages that frequency rules cap.</summary>
    public bool HasMarketing { get; }

    public bool ReentranceAllowed => Definition.Reentrance?.Allowed ?? false;

    public TimeSpan ReentranceWait =>
        IsoDuration.TryParse(Definition.Reentrance?.WaitPeriod, out var wait) ? wait : TimeSpan.Zero;

    /// <summary>The duration a wait or timeout lasts for this instance: test instances use the test-mode override.</summary>
    public TimeSpan Effective(TimeSpan configured, bool isTest) =>
        isTest && Version.WaitOverride is { } overridden ? overridden : configured;

    public static JourneyDefinition Parse(string json) =>
        JsonSerializer.Deserialize<JourneyDefinition>(json, JsonSerializerOptions.Web)
        ?? throw new JsonException("The stored definition is null.");
}

/// <summary>Caches compiled versions; a draft edited in test mode is recompiled because the key includes its update time.</summary>
public sealed class JourneyCatalog
{
    private readonly ConcurrentDictionary<(Guid, long), CompiledJourney> _cache = new();

    public async Task<CompiledJourney?> GetAsync(JourneyDbContext db, Guid versionId, CancellationToken cancellationToken)
    {
        var version = await db.JourneyVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == versionId, cancellationToken);
        if (version is null)
        {
            return null;
        }

        var key = (version.Id, version.UpdatedAt.Ticks);
        if (_cache.TryGetValue(key, out var compiled))
        {
            return compiled;
        }

        var name = await db.Journeys.Where(j => j.Id == version.JourneyId).Select(j => j.Name).FirstAsync(cancellationToken);
        compiled = new CompiledJourney(version, name, CompiledJourney.Parse(version.Definition));
        if (_cache.Count > 1_000)
        {
            _cache.Clear();
        }
        _cache[key] = compiled;
        return compiled;
    }
}
