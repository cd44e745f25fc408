using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Simulation;

/// <summary>
/// Everything a simulation runs on, resolved and checked: the journey version, the profiles (each with an id of its own,
/// the database's or a made-up one), the frequency rules and suppressed addresses in force, and the scripted events with
/// the profiles they go to and the event configurations they match.
/// </summary>
public sealed record SimulationInput(
    CompiledJourney Journey,
    IReadOnlyList<Profile> Profiles,
    IReadOnlyList<FrequencyCap> Caps,
    IReadOnlyDictionary<string, string> Suppressed,
    IReadOnlyList<SimulatedEvent> Events,
    DateTimeOffset Start,
    TimeSpan Horizon,
    int Seed,
    SimulationRates Rates);

/// <summary>A scripted event ready to happen: when, to whom (each with <see cref="Share"/>), and the configurations it matched.</summary>
public sealed record SimulatedEvent(int Index, TimeSpan At, IReadOnlyList<Profile> Profiles, double Share, JsonObject Payload, IReadOnlyList<string> Matched);

/// <summary>The reaction rates in force (0 where the request gave none).</summary>
public sealed record SimulationRates(double EmailOpened, double EmailClicked, double PushOpened)
{
    public static SimulationRates From(SimulationReactions? reactions) =>
        new(reactions?.EmailOpened ?? 0, reactions?.EmailClicked ?? 0, reactions?.PushOpened ?? 0);
}

/// <summary>One simulated instance: the in-memory row the engine steps, and what the live store would hold beside it.</summary>
internal sealed class SimulatedInstance(JourneyInstance instance, Profile profile)
{
    public JourneyInstance Instance { get; } = instance;
    public Profile Profile { get; } = profile;

    /// <summary>Its messages by node, as the outbox would hold them (a node reached again finds its message already sent).</summary>
    public Dictionary<string, OutboxMessage> Outbox { get; } = new(StringComparer.Ordinal);

    /// <summary>The reactions to its messages so far: (message node, kind).</summary>
    public HashSet<(string NodeId, string Kind)> Reactions { get; } = [];

    /// <summary>Moves each time the instance is run or resumed: a queued wake-up for an older version is stale.</summary>
    public int Version { get; set; }

    /// <summary>The nodes it went through, in order, a node repeated only when it was left and reached again.</summary>
    public List<string> Path { get; } = [];

    public bool IsRunning => Instance.Status is InstanceStatus.Active or InstanceStatus.Waiting;
}

/// <summary>The reaction kinds of reaction nodes (CONTRACT "Journeys"), as tracking records them.</summary>
public static class ReactionKinds
{
    public const string EmailOpened = "emailOpened";
    public const string EmailClicked = "emailClicked";
    public const string PushOpened = "pushOpened";
}
