using System.Text.Json.Nodes;

namespace JourneyWorker.Profiles;

/// <summary>Body of PUT /api/profiles/{namespace}/{identity} and one line of an import.</summary>
public sealed record ProfileRequest(
    Dictionary<string, string>? Identities,
    JsonObject? Attributes,
    List<PushTokenRequest>? PushTokens,
    ConsentRequest? Consent,
    bool? TestProfile);

public sealed record PushTokenRequest(string? Token, string? Platform);

public sealed record ConsentRequest(bool? Email, bool? Push);

public sealed record ProfileResponse(
    long Id,
    IReadOnlyDictionary<string, string> Identities,
    JsonObject Attributes,
    IReadOnlyList<PushTokenResponse> PushTokens,
    ConsentResponse Consent,
    bool TestProfile,
    DateTime CreatedAt,
    DateTime UpdatedAt);

public sealed record PushTokenResponse(string Token, string Platform, bool Active);

public sealed record ConsentResponse(bool Email, bool Push);

public sealed record ImportResponse(int Imported, int Failed, IReadOnlyList<ImportError> Errors);

public sealed record ImportError(long Line, string Error);

/// <summary>
/// <c>GET /api/imports/{id}</c>: a long import's progress. <c>etaSeconds</c> (while running, when the body's length was
/// announced), <c>startedAt</c>, <c>finishedAt</c> and <c>reason</c> (why it failed or was interrupted) are beyond the contract.
/// </summary>
public sealed record ImportStatusResponse(
    Guid Id,
    string Status,
    long Processed,
    long Imported,
    long Failed,
    double RatePerSecond,
    double? EtaSeconds,
    IReadOnlyList<ImportError> Errors,
    DateTime StartedAt,
    DateTime? FinishedAt,
    string? Reason);
