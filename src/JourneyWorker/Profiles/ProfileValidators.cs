using FluentValidation;

namespace JourneyWorker.Profiles;

public sealed class ProfileRequestValidator : AbstractValidator<ProfileRequest>
{
    public static readonly string[] Platforms = ["android", "ios", "web"];

    public ProfileRequestValidator()
    {
        RuleForEach(p => p.Identities).ChildRules(identity =>
        {
            identity.RuleFor(i => i.Key).Must(IdentityRules.IsValid).WithMessage(IdentityRules.Message("namespace"));
            identity.RuleFor(i => i.Value).Must(IdentityRules.IsValid).WithMessage(IdentityRules.Message("identity value"));
        }).OverridePropertyName("identities");
        RuleForEach(p => p.PushTokens).ChildRules(token =>
        {
            token.RuleFor(t => t.Token).NotEmpty().MaximumLength(4096);
            token.RuleFor(t => t.Platform).NotEmpty().Must(p => p is null || Platforms.Contains(p))
                .WithMessage("'platform' must be one of android, ios, web.");
        });
        RuleFor(p => p.PushTokens).Must(t => t is null || t.Count <= 100).WithMessage("At most 100 push tokens per profile.");
        RuleFor(p => p.Identities).Must(i => i is null || i.Count <= 20).WithMessage("At most 20 identities per profile.");
    }

    /// <summary>
    /// True only for a request every rule above accepts, checked without the validator's machinery (an import checks
    /// millions of lines); a request it does not vouch for goes through the validator, which decides and words the errors.
    /// </summary>
    public static bool IsPlainlyValid(ProfileRequest request) =>
        (request.Identities is null || (request.Identities.Count <= 20
            && request.Identities.All(i => IdentityRules.IsValid(i.Key) && IdentityRules.IsValid(i.Value))))
        && (request.PushTokens is null || (request.PushTokens.Count <= 100
            && request.PushTokens.All(t => t is { Token.Length: <= 4096, Platform: { } platform } && !string.IsNullOrWhiteSpace(t.Token)
                && Platforms.Contains(platform))));
}

public static class IdentityRules
{
    public const int MaxLength = 256;

    public static bool IsValid(string? value) =>
        !string.IsNullOrWhiteSpace(value) && value.Length <= MaxLength && !value.Any(char.IsControl);

    public static string Message(string what) => $"The {what} must be 1 to {MaxLength} characters without control characters.";
}
