using System.Text.Json;
using System.Text.Json.Nodes;
using FluentValidation;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;

namespace JourneyWorker.Simulation;

/// <summary>What a simulation request must hold before anything is loaded; references to profiles are checked once they are.</summary>
public sealed class SimulationRequestValidator : AbstractValidator<SimulationRequest>
{
    public const int MaxProfiles = 100_000;
    public const int MaxEvents = 1_000;
    public const string Audience = "audience";
    public const string Test = "test";
    public const string Everyone = "*";

    /// <summary>The longest horizon: a year and a day, so that a yearly pattern fits and one request stays seconds long.</summary>
    public static readonly TimeSpan MaxHorizon = TimeSpan.FromDays(366);

    private static readonly ProfileRequestValidator ProfileValidator = new();

    public SimulationRequestValidator()
    {
        RuleFor(r => r.Profiles).Custom(CheckProfiles);
        RuleFor(r => r.Limit).InclusiveBetween(1, MaxProfiles).When(r => r.Limit is not null)
            .WithMessage($"'limit' must be between 1 and {MaxProfiles}.");
        RuleFor(r => r.Horizon)
            .Must(h => h is null || (IsoDuration.TryParse(h, out var d) && d > TimeSpan.Zero && d <= MaxHorizon))
            .WithMessage($"'horizon' must be an ISO 8601 duration longer than zero and at most {IsoDuration.Format(MaxHorizon)}, such as P91D.");
        RuleFor(r => r.Reactions!.EmailOpened).Must(Share).When(r => r.Reactions is not null).OverridePropertyName("reactions.emailOpened")
            .WithMessage("'reactions.emailOpened' must be a share between 0 and 1.");
        RuleFor(r => r.Reactions!.EmailClicked).Must(Share).When(r => r.Reactions is not null).OverridePropertyName("reactions.emailClicked")
            .WithMessage("'reactions.emailClicked' must be a share between 0 and 1.");
        RuleFor(r => r.Reactions!.PushOpened).Must(Share).When(r => r.Reactions is not null).OverridePropertyName("reactions.pushOpened")
            .WithMessage("'reactions.pushOpened' must be a share between 0 and 1.");
        RuleFor(r => r.Events).Must(e => e is null || e.Count <= MaxEvents).WithMessage($"At most {MaxEvents} scripted events.");
        RuleForEach(r => r.Events).NotNull().WithMessage("A scripted event must be an object, not null.").ChildRules(e =>
        {
            e.RuleFor(x => x!.At).Must(a => IsoDuration.TryParse(a, out var d) && d >= TimeSpan.Zero)
                .WithMessage("'at' must be an ISO 8601 duration from the start of the simulation, such as PT2H.");
            e.RuleFor(x => x!.Profile).Must(p => p == Everyone || IsReference(p))
                .WithMessage("'profile' must be \"*\" (every simulated profile) or \"namespace:identity\", such as \"email:ann@example.com\".");
            e.RuleFor(x => x!.Share).Must(Share).WithMessage("'share' must be between 0 and 1.");
            e.RuleFor(x => x!.Payload).NotNull().WithMessage("'payload' must be the event's JSON object, as POST /api/events takes it.");
        });
        RuleFor(r => r).Must(r => r.Events is null || r.Horizon is null || !IsoDuration.TryParse(r.Horizon, out var h)
                || r.Events.All(e => e is null || !IsoDuration.TryParse(e.At, out var at) || at < h))
            .OverridePropertyName("events").WithMessage("Every scripted event's 'at' must fall before the horizon.");
    }

    private static bool Share(double? share) => share is null || (share >= 0 && share <= 1 && !double.IsNaN(share.Value));

    /// <summary>"namespace:identity", both parts valid identities (the identity may contain ':').</summary>
    public static bool IsReference(string? reference) =>
        reference?.IndexOf(':', StringComparison.Ordinal) is { } colon && colon > 0
        && IdentityRules.IsValid(reference[..colon]) && IdentityRules.IsValid(reference[(colon + 1)..]);

    private static void CheckProfiles(JsonNode? profiles, ValidationContext<SimulationRequest> context)
    {
        switch (profiles)
        {
            case null:
                return;
            case JsonValue value when value.TryGetValue<string>(out var text) && text is Audience or Test:
                return;
            case JsonArray list:
                if (list.Count is 0 or > MaxProfiles)
                {
                    context.AddFailure("profiles", $"'profiles' as a list must hold 1 to {MaxProfiles} profiles.");
                    return;
                }
                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var problem in ProfileProblems(list[i]))
                    {
                        context.AddFailure($"profiles[{i}]", problem);
                    }
                }
                return;
            default:
                context.AddFailure("profiles", "'profiles' must be \"audience\", \"test\" or a list of profiles ({\"identities\": {...}, \"attributes\": {...}, ...}).");
                return;
        }
    }

    /// <summary>What is wrong with one listed profile (the checks of a profile upsert, and at least one identity to name it by).</summary>
    public static IEnumerable<string> ProfileProblems(JsonNode? node)
    {
        ProfileRequest? profile;
        try
        {
            profile = node is JsonObject ? node.Deserialize<ProfileRequest>(JsonSerializerOptions.Web) : null;
        }
        catch (JsonException e)
        {
            return [$"Not a profile: {e.Message}"];
        }
        if (profile is null)
        {
            return ["A profile must be an object with 'identities' and 'attributes'."];
        }
        var problems = ProfileValidator.Validate(profile).Errors.Select(e => e.ErrorMessage).ToList();
        if (profile.Identities is not { Count: > 0 })
        {
            problems.Add("A profile needs at least one identity ({\"identities\": {\"email\": \"ann@example.com\"}}).");
        }
        return problems;
    }
}
