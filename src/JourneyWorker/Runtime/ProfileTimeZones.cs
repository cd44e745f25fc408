using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Runtime;

/// <summary>The zone a journey's local times are read in, for one instance.</summary>
public sealed record ZoneChoice(TimeZoneInfo Zone, string? Warning);

/// <summary>
/// Resolves the zone a node names: an IANA name as given, or "profile" (also when none is given): the profile's
/// attribute timeZone, else Journeys:DefaultTimeZone. A profile zone the host does not know falls back to the default,
/// with a warning for the step's detail (one bad attribute must not stop the journey).
/// </summary>
public sealed class ProfileTimeZones(IOptions<JourneyOptions> options)
{
    private readonly Lazy<TimeZoneInfo> _default = new(() =>
        LocalTimes.TryFindZone(options.Value.DefaultTimeZone, out var zone) ? zone : TimeZoneInfo.Utc);

    public TimeZoneInfo Default => _default.Value;

    public ZoneChoice For(string? named, InstanceRun run)
    {
        if (named is not null && named != LocalTimes.ProfileZone)
        {
            // Validated when the journey was published; a zone removed from the host's tz database since falls back too.
            return LocalTimes.TryFindZone(named, out var zone)
                ? new(zone, null)
                : new(Default, $"The journey's time zone '{named}' is unknown on this host; used {Default.Id}.");
        }
        var attribute = run.ProfileTimeZone;
        if (attribute is null)
        {
            return new(Default, null);
        }
        return LocalTimes.TryFindZone(attribute, out var own)
            ? new(own, null)
            : new(Default, $"Warning: the profile's timeZone '{attribute}' is not a known IANA time zone; used {Default.Id}.");
    }
}
