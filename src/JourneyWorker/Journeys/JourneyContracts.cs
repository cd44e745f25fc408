using JourneyWorker.Journeys.Model;
namespace JourneyWorker.Journeys;

public sealed record JourneyCreated(Guid Id, int Version, string Status);

public sealed record JourneyVersionSummary(int Version, string Status, bool TestMode, DateTime CreatedAt, DateTime? PublishedAt, DateTime? EndedAt);

public sealed record JourneyResponse(
    Guid Id,
    string Name,
    int Version,
    string Status,
    bool TestMode,
    string? WaitOverride,
    JourneyDefinition Definition,
    IReadOnlyList<JourneyVersionSummary> Versions);

public sealed record TestModeRequest(bool Enabled, string? WaitOverride);

/// <summary>
/// A node's counts: its steps by outcome, the instances waiting at it now, the conversions attributed to it (a message
/// node), and its messages reported bounced (hard or soft) or as spam.
/// </summary>
public sealed record NodeReport(int Entered, int Succeeded, int Failed, int TimedOut, int Skipped, int WaitingNow = 0, int Conversions = 0,
    int Bounced = 0, int Complained = 0);

public sealed record InstanceCounts(int Active, int Waiting, int Completed, int Failed, int Exited);

/// <summary>Every node of the journey's versions (zeros included), the instances by status, and the goal's conversions.</summary>
public sealed record JourneyReport(IReadOnlyDictionary<string, NodeReport> Nodes, InstanceCounts Instances, int Conversions = 0);

public sealed record StepResponse(int Seq, string Node, string Outcome, DateTime At, string? Detail);

public sealed record InstanceResponse(
    long Id,
    Guid JourneyId,
    int Version,
    long ProfileId,
    string Status,
    string? Node,
    string? WaitingFor,
    DateTime? DueAt,
    bool Test,
    DateTime EnteredAt,
    DateTime? EndedAt,
    string? EndReason,
    IReadOnlyList<StepResponse> Steps);
