using FluentValidation;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Rules;

public sealed class FrequencyRulesRequestValidator : AbstractValidator<FrequencyRulesRequest>
{
    public const int MaxRules = 50;

    /// <summary>The longest window: each check reads a profile's sends over the longest rule's window.</summary>
    public static readonly TimeSpan MaxPer = TimeSpan.FromDays(366);

    public FrequencyRulesRequestValidator()
    {
        RuleFor(r => r.Rules).NotNull().WithMessage("rules is required: a list of { channel, max, per } (an empty list removes every cap).")
            .Must(r => r is null || r.Count <= MaxRules).WithMessage($"At most {MaxRules} rules.");
        RuleForEach(r => r.Rules).NotNull().WithMessage("A rule must be an object, not null.");
        RuleForEach(r => r.Rules).ChildRules(rule =>
        {
            rule.RuleFor(x => x!.Channel)
                .Must(c => c is not null && FrequencyChannels.All.Contains(c))
                .WithMessage(x => $"channel must be one of {string.Join(", ", FrequencyChannels.All)}; got '{x!.Channel}'.");
            rule.RuleFor(x => x!.Max)
                .NotNull().WithMessage("max is required: the most messages allowed in the window.")
                .GreaterThanOrEqualTo(1).WithMessage("max must be at least 1.");
            rule.RuleFor(x => x!.Per)
                .Must(p => IsoDuration.TryParse(p, out var per) && per <= MaxPer)
                .WithMessage(x => $"per must be a positive ISO 8601 duration up to {IsoDuration.Format(MaxPer)}, such as P7D; got '{x!.Per}'.");
        }).When(r => r.Rules is not null);
    }
}

/// <summary>What a frequency rule counts: one channel's messages, or every channel's.</summary>
public static class FrequencyChannels
{
    public const string Email = "email";
    public const string Push = "push";
    public const string Any = "any";

    public static readonly string[] All = [Email, Push, Any];
}
