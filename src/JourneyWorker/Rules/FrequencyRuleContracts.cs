namespace JourneyWorker.Rules;

/// <summary>Body of PUT /api/rules/frequency: the whole list of caps, replacing the one stored.</summary>
public sealed record FrequencyRulesRequest(List<FrequencyRuleRequest?>? Rules);

/// <summary>At most <see cref="Max"/> marketing messages of <see cref="Channel"/> per profile in any window of <see cref="Per"/> (ISO 8601).</summary>
public sealed record FrequencyRuleRequest(string? Channel, int? Max, string? Per);

public sealed record FrequencyRulesResponse(IReadOnlyList<FrequencyRuleResponse> Rules);

public sealed record FrequencyRuleResponse(string Channel, int Max, string Per);
