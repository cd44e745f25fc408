namespace JourneyWorker.Events;

/// <summary>Body of POST and PUT /api/event-configs.</summary>
public sealed record EventConfigRequest(
    string? Name,
    string? IdType,
    string? Condition,
    string? Namespace,
    string? ProfileIdentifier,
    List<EventFieldRequest>? Fields);

public sealed record EventFieldRequest(string? Path, string? Type);

/// <summary>A declared payload field: dotted path and one of <see cref="EventFieldChecker.Types"/>.</summary>
public sealed record EventField(string Path, string Type);

public sealed record EventConfigResponse(
    Guid Id,
    string Name,
    string IdType,
    string? Condition,
    string? EventId,
    string Namespace,
    string ProfileIdentifier,
    IReadOnlyList<EventField> Fields,
    DateTime CreatedAt,
    DateTime UpdatedAt);
