using JourneyWorker.Profiles;

namespace JourneyWorker.Audiences;

/// <summary>Body of POST and PUT /api/audiences.</summary>
public sealed record AudienceRequest(string? Name, string? Rule);

public sealed record AudienceResponse(Guid Id, string Name, string Rule, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record AudiencePreviewResponse(int Count, IReadOnlyList<ProfileResponse> Sample);
