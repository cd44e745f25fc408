using JourneyWorker.Journeys.Model;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Journeys;

public sealed class JourneyOptions
{
    public const string Section = "Journeys";

    /// <summary>
    /// An IANA name: the zone of send windows and waits until a time of day for a profile without a (known) timeZone
    /// attribute, and of the wall-clock times of daily, weekly and cron Read Audience schedules (which name no zone).
    /// </summary>
    public string DefaultTimeZone { get; set; } = "UTC";
}

/// <summary>An unknown default zone would make every profile-local send and every schedule go wrong: refuse to start instead.</summary>
public sealed class JourneyOptionsValidator : IValidateOptions<JourneyOptions>
{
    public ValidateOptionsResult Validate(string? name, JourneyOptions options) =>
        LocalTimes.TryFindZone(options.DefaultTimeZone, out _)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Journeys:DefaultTimeZone '{options.DefaultTimeZone}' is not a time zone this host knows: give an IANA name such as UTC or Europe/Berlin (the tz database must be installed).");
}
