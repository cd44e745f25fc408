using JourneyWorker.Expressions;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

/// <summary>The journey-level criteria: exits and the goal, each an event configuration with an optional condition on its payload.</summary>
public sealed partial class JourneyValidator
{
    private async Task CheckCriteriaAsync(JourneyDefinition definition, Action<string?, string, string> error, CancellationToken cancellationToken)
    {
        foreach (var (exit, index) in (definition.Exit ?? []).Select((e, i) => (e, i)))
        {
            if (exit is null)
            {
                error(null, "exit.eventMissing", $"Exit criterion #{index} is empty: it needs an event.");
                continue;
            }
            await CheckCriterionAsync("exit", $"Exit criterion #{index}", exit.Event, exit.When, error, cancellationToken);
        }

        if (definition.Goal is not { } goal)
        {
            return;
        }
        await CheckCriterionAsync("goal", "The goal", goal.Event, goal.When, error, cancellationToken);
        if (goal.Within is null)
        {
            error(null, "goal.withinMissing", "The goal needs 'within': how long after entry its event counts, e.g. P7D.");
        }
        else if (!IsoDuration.TryParse(goal.Within, out var within) || within <= TimeSpan.Zero || within > MaxDuration)
        {
            error(null, "goal.withinInvalid", $"The goal's 'within' '{goal.Within}' is not an ISO 8601 duration above zero and up to {IsoDuration.Format(MaxDuration)}.");
        }
    }

    private async Task CheckCriterionAsync(
        string code, string what, string? eventName, string? when, Action<string?, string, string> error, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(eventName))
        {
            error(null, $"{code}.eventMissing", $"{what} does not name an event configuration.");
        }
        else if (!await db.EventConfigs.AnyAsync(c => c.Name == eventName, cancellationToken))
        {
            error(null, $"{code}.eventUnknown", $"{what} names event '{eventName}', which is not configured.");
        }
        if (when is not null && !ExpressionParser.TryParse(when, out _, out var problem))
        {
            error(null, $"{code}.whenInvalid", $"{what}'s condition '{when}' does not parse at {problem!.Position}: {problem.Message}");
        }
    }
}
