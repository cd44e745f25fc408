using System.Text.Json.Nodes;

namespace JourneyWorker.Simulation;

/// <summary>
/// Body of POST /api/journeys/{id}/simulate (CONTRACT "Operations 2"). <see cref="Profiles"/> is "audience" (the journey's
/// Read Audience, the default), "test" (the test profiles) or an array of profiles in the shape of a profile upsert.
/// </summary>
public sealed record SimulationRequest(
    JsonNode? Profiles,
    int? Limit,
    string? Horizon,
    int? Seed,
    SimulationReactions? Reactions,
    List<ScriptedEvent?>? Events);

/// <summary>The share (0..1) of the recipients of each e-mail or push who open it or click in it.</summary>
public sealed record SimulationReactions(double? EmailOpened, double? EmailClicked, double? PushOpened);

/// <summary>
/// An event the simulation feeds in <see cref="At"/> after its start, for one profile ("namespace:identity") or for every
/// profile ("*"), each taken with probability <see cref="Share"/> (1 by default).
/// </summary>
public sealed record ScriptedEvent(string? At, string? Profile, double? Share, JsonObject? Payload);

/// <summary>What the simulation found (CONTRACT "Operations 2"), plus the frequency caps and send windows it applied.</summary>
public sealed record SimulationResponse(
    IReadOnlyDictionary<string, SimulatedNode> Nodes,
    IReadOnlyList<SimulatedPath> Paths,
    SimulatedMessages Messages,
    IReadOnlyList<SimulatedDay> ByDay,
    int WaitingAtHorizon,
    int Profiles,
    IReadOnlyList<SimulatedCap> FrequencyCaps,
    IReadOnlyList<SimulatedWindow> SendWindows);

public sealed record SimulatedNode(int Entered, int Succeeded, int Failed, int TimedOut, int Skipped);

/// <summary>One distinct way through the journey (the nodes in the order they were reached) and how many instances took it.</summary>
public sealed record SimulatedPath(IReadOnlyList<string> Nodes, int Profiles);

public sealed record SimulatedMessages(int Email, int Push, int Webhook);

/// <summary>Messages sent on day <see cref="Day"/> of the simulation (0: its first 24 hours); days without any are left out.</summary>
public sealed record SimulatedDay(int Day, int Email, int Push);

/// <summary>A frequency rule and how many marketing messages it capped.</summary>
public sealed record SimulatedCap(string Rule, int Skipped);

/// <summary>A message node with a send window and how many of its sends waited for the window to open.</summary>
public sealed record SimulatedWindow(string Node, string Window, int Deferred);
