using System.Globalization;

namespace JourneyWorker.Journeys.Model;

/// <summary>
/// Local times of day in a time zone, made into instants the same way everywhere (send windows, wait until a time):
/// a local time skipped by a spring-forward change is the first instant after the gap (02:30 in New York on the
/// day clocks go from 02:00 to 03:00 is 03:00 EDT); a local time that happens twice when clocks fall back is the
/// first of the two (01:30 EDT, not 01:30 EST).
/// </summary>
public static class LocalTimes
{
    /// <summary>The name that means "the profile's own zone" wherever a journey names a zone.</summary>
    public const string ProfileZone = "profile";

    /// <summary>"HH:mm" from 00:00 to 23:59.</summary>
    public static bool TryParseTimeOfDay(string? text, out TimeSpan time)
    {
        time = default;
        if (text is not { Length: 5 } || !TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            return false;
        }
        time = parsed.ToTimeSpan();
        return true;
    }

    /// <summary>A zone by IANA name (the host's tz database); false for an unknown or malformed name.</summary>
    public static bool TryFindZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > 100)
        {
            return false;
        }
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException or System.Security.SecurityException)
        {
            return false;
        }
    }

    /// <summary>The instant the local time <paramref name="time"/> on <paramref name="date"/> denotes in <paramref name="zone"/>.</summary>
    public static DateTimeOffset Resolve(DateOnly date, TimeSpan time, TimeZoneInfo zone)
    {
        var local = date.ToDateTime(TimeOnly.FromTimeSpan(time), DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // Skipped by a spring-forward change: the first local minute after the gap is where the clocks resumed
            // (every zone in use changes offset on a whole minute; the widest gap ever was a whole day).
            var probe = local;
            for (var minutes = 0; minutes < 48 * 60 && zone.IsInvalidTime(probe); minutes++)
            {
                probe = probe.AddMinutes(1);
            }
            local = probe;
        }
        if (zone.IsAmbiguousTime(local))
        {
            // Twice when clocks fall back: the first time is the one under the larger offset (summer time).
            return new DateTimeOffset(local, zone.GetAmbiguousTimeOffsets(local).Max());
        }
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    /// <summary>The local date of <paramref name="instant"/> in <paramref name="zone"/>.</summary>
    public static DateOnly LocalDate(DateTimeOffset instant, TimeZoneInfo zone) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);

    /// <summary>
    /// The first instant at or after <paramref name="now"/> whose local time of day is <paramref name="time"/> (each
    /// local day's occurrence resolved as <see cref="Resolve"/> does): a wait that reaches the time exactly goes on at once.
    /// </summary>
    public static DateTimeOffset Next(DateTimeOffset now, TimeSpan time, TimeZoneInfo zone)
    {
        var day = LocalDate(now, zone);
        while (true)
        {
            var at = Resolve(day, time, zone);
            if (at >= now)
            {
                return at;
            }
            day = day.AddDays(1);
        }
    }
}

/// <summary>A parsed, valid send window (see <see cref="SendWindowDefinition"/>).</summary>
public sealed class SendWindow
{
    public static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    private SendWindow(HashSet<DayOfWeek> days, TimeSpan from, TimeSpan to)
    {
        Days = days;
        From = from;
        To = to;
    }

    public IReadOnlySet<DayOfWeek> Days { get; }
    public TimeSpan From { get; }
    public TimeSpan To { get; }

    /// <summary>A window across midnight opens on one of its days and closes the next day at <see cref="To"/>.</summary>
    public bool CrossesMidnight => From > To;

    /// <summary>False when a day is unknown, days are missing, a time is not "HH:mm", or from equals to (validation says which).</summary>
    public static bool TryParse(SendWindowDefinition? definition, out SendWindow? window)
    {
        window = null;
        if (definition?.Days is not { Count: > 0 } names
            || !LocalTimes.TryParseTimeOfDay(definition.From, out var from)
            || !LocalTimes.TryParseTimeOfDay(definition.To, out var to)
            || from == to)
        {
            return false;
        }
        var days = new HashSet<DayOfWeek>();
        foreach (var name in names)
        {
            var index = Array.IndexOf(DayNames, name);
            if (index < 0)
            {
                return false;
            }
            days.Add((DayOfWeek)index);
        }
        window = new SendWindow(days, from, to);
        return true;
    }

    /// <summary>Null when <paramref name="now"/> is inside the window in <paramref name="zone"/>; otherwise when it next opens.</summary>
    public DateTimeOffset? NextOpening(DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = LocalDate(now, zone);
        // Yesterday's window may still be open after midnight; one of the next seven days opens it again.
        for (var day = today.AddDays(-1); day <= today.AddDays(7); day = day.AddDays(1))
        {
            if (!Days.Contains(day.DayOfWeek))
            {
                continue;
            }
            var open = LocalTimes.Resolve(day, From, zone);
            if (open > now)
            {
                return open;
            }
            var close = LocalTimes.Resolve(CrossesMidnight ? day.AddDays(1) : day, To, zone);
            if (now < close)
            {
                return null;
            }
        }
        throw new InvalidOperationException("A send window with at least one day opens within a week.");
    }

    private static DateOnly LocalDate(DateTimeOffset now, TimeZoneInfo zone) => LocalTimes.LocalDate(now, zone);

    /// <summary>"mon-fri 09:00-20:00" style, for step details.</summary>
    public override string ToString() =>
        $"{string.Join(",", WeekOrder.Where(d => Days.Contains(d)).Select(d => DayNames[(int)d]))} {From:hh\\:mm}-{To:hh\\:mm}";

    private static readonly DayOfWeek[] WeekOrder =
        [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday];
}
