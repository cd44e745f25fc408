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

public sealed record NodeReport(int Entered, int Succeeded, int Failed, int TimedOut, int Skipped);

public sealed record InstanceCounts(int Active, int Waiting, int Completed, int Failed, int Exited);

public sealed record JourneyReport(IReadOnlyDictionary<string, NodeReport> Nodes, InstanceCounts Instances);

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
