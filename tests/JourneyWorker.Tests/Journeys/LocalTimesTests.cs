using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Tests.Journeys;

/// <summary>
/// Local times made into instants across daylight-saving changes (America/New_York in 2026: clocks go from 02:00 EST
/// to 03:00 EDT on 8 March and from 02:00 EDT back to 01:00 EST on 1 November; Australia/Lord_Howe moves by half an hour).
/// </summary>
public sealed class LocalTimesTests
{
    private static readonly TimeZoneInfo NewYork = Zone("America/New_York");

    private static TimeZoneInfo Zone(string id)
    {
        Assert.True(LocalTimes.TryFindZone(id, out var zone), $"{id} is not in this host's tz database");
        return zone;
    }

    private static DateTimeOffset Utc(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    private static TimeSpan T(string hhmm) => LocalTimes.TryParseTimeOfDay(hhmm, out var t) ? t : throw new ArgumentException(hhmm);

    private static SendWindow Window(string from, string to, params string[] days) =>
        SendWindow.TryParse(new SendWindowDefinition([.. days], from, to, null), out var window) ? window! : throw new ArgumentException("bad window");

    [Fact]
    public void A_time_skipped_by_spring_forward_is_the_first_instant_after_the_gap()
    {
        Assert.Equal(Utc("2026-03-08T07:00:00Z"), LocalTimes.Resolve(new DateOnly(2026, 3, 8), T("02:30"), NewYork)); // 03:00 EDT
        Assert.Equal(Utc("2026-03-08T07:00:00Z"), LocalTimes.Resolve(new DateOnly(2026, 3, 8), T("02:00"), NewYork));
        Assert.Equal(Utc("2026-03-08T06:59:00Z"), LocalTimes.Resolve(new DateOnly(2026, 3, 8), T("01:59"), NewYork)); // still EST
        Assert.Equal(Utc("2026-03-08T07:00:00Z"), LocalTimes.Resolve(new DateOnly(2026, 3, 8), T("03:00"), NewYork));
        // A half-hour change: 02:00 +10:30 becomes 02:30 +11:00.
        Assert.Equal(Utc("2026-10-03T15:30:00Z"), LocalTimes.Resolve(new DateOnly(2026, 10, 4), T("02:15"), Zone("Australia/Lord_Howe")));
    }

    [Fact]
    public void A_time_that_happens_twice_at_fall_back_is_the_first_of_the_two()
    {
        Assert.Equal(Utc("2026-11-01T05:30:00Z"), LocalTimes.Resolve(new DateOnly(2026, 11, 1), T("01:30"), NewYork)); // 01:30 EDT, not EST
        Assert.Equal(Utc("2026-11-01T05:00:00Z"), LocalTimes.Resolve(new DateOnly(2026, 11, 1), T("01:00"), NewYork));
        Assert.Equal(Utc("2026-11-01T07:00:00Z"), LocalTimes.Resolve(new DateOnly(2026, 11, 1), T("02:00"), NewYork)); // EST again
    }

    [Fact]
    public void The_next_local_time_follows_the_clock_across_both_changes()
    {
        // 09:00 is 14:00Z in winter and 13:00Z in summer: the day of the change is 23 (then 25) hours long.
        Assert.Equal(Utc("2026-03-07T14:00:00Z"), LocalTimes.Next(Utc("2026-03-07T12:00:00Z"), T("09:00"), NewYork));
        Assert.Equal(Utc("2026-03-08T13:00:00Z"), LocalTimes.Next(Utc("2026-03-07T14:00:01Z"), T("09:00"), NewYork));
        Assert.Equal(Utc("2026-11-01T14:00:00Z"), LocalTimes.Next(Utc("2026-10-31T13:00:01Z"), T("09:00"), NewYork));
        // Due exactly now: at once.
        Assert.Equal(Utc("2026-03-07T14:00:00Z"), LocalTimes.Next(Utc("2026-03-07T14:00:00Z"), T("09:00"), NewYork));
        // Inside the night of spring-forward, 02:30 comes as 03:00 EDT.
        Assert.Equal(Utc("2026-03-08T07:00:00Z"), LocalTimes.Next(Utc("2026-03-08T06:00:00Z"), T("02:30"), NewYork));
        // At fall-back the day's 01:30 is its first one; once that has passed, the next is tomorrow's (not the repeat an hour later).
        Assert.Equal(Utc("2026-11-01T05:30:00Z"), LocalTimes.Next(Utc("2026-11-01T04:00:00Z"), T("01:30"), NewYork));
        Assert.Equal(Utc("2026-11-02T06:30:00Z"), LocalTimes.Next(Utc("2026-11-01T05:45:00Z"), T("01:30"), NewYork));
    }

    [Fact]
    public void A_send_window_opens_at_its_next_local_opening_across_days_and_changes()
    {
        var weekdays = Window("09:00", "20:00", "mon", "tue", "wed", "thu", "fri");
        // Thursday 5 March 21:00 EST: closed; opens Friday 09:00 EST.
        Assert.Equal(Utc("2026-03-06T14:00:00Z"), weekdays.NextOpening(Utc("2026-03-06T02:00:00Z"), NewYork));
        // Friday 10:00 EST: open.
        Assert.Null(weekdays.NextOpening(Utc("2026-03-06T15:00:00Z"), NewYork));
        // Friday 20:00 EST exactly: closed (to is exclusive); the weekend is skipped, and Monday 09:00 is EDT by then.
        Assert.Equal(Utc("2026-03-09T13:00:00Z"), weekdays.NextOpening(Utc("2026-03-07T01:00:00Z"), NewYork));
        // Saturday 31 October: the weekend is 25 hours longer at fall-back; Monday 09:00 EST.
        Assert.Equal(Utc("2026-11-02T14:00:00Z"), weekdays.NextOpening(Utc("2026-10-31T16:00:00Z"), NewYork));
    }

    [Fact]
    public void A_window_across_midnight_belongs_to_the_day_it_opens()
    {
        var saturdayNight = Window("22:00", "06:00", "sat");
        // Sunday 8 March 03:30 EDT (the night clocks spring forward) is inside Saturday's window, which ends at 06:00 EDT.
        Assert.Null(saturdayNight.NextOpening(Utc("2026-03-08T07:30:00Z"), NewYork));
        // Sunday 06:30 EDT: closed until Saturday 14 March 22:00 EDT.
        Assert.Equal(Utc("2026-03-15T02:00:00Z"), saturdayNight.NextOpening(Utc("2026-03-08T10:30:00Z"), NewYork));
        // Saturday 21:00 EST: opens in an hour.
        Assert.Equal(Utc("2026-03-08T03:00:00Z"), saturdayNight.NextOpening(Utc("2026-03-08T02:00:00Z"), NewYork));
    }

    [Fact]
    public void A_window_opening_inside_the_gap_opens_when_the_clocks_resume()
    {
        var early = Window("02:30", "04:00", "sun");
        Assert.Equal(Utc("2026-03-08T07:00:00Z"), early.NextOpening(Utc("2026-03-08T06:30:00Z"), NewYork)); // 01:30 EST → 03:00 EDT
        Assert.Null(early.NextOpening(Utc("2026-03-08T07:30:00Z"), NewYork));
    }

    [Theory]
    [InlineData("9:00")]
    [InlineData("24:00")]
    [InlineData("09:60")]
    [InlineData("0900")]
    [InlineData("09:00:00")]
    [InlineData("")]
    public void Only_HH_mm_times_of_day_parse(string text) => Assert.False(LocalTimes.TryParseTimeOfDay(text, out _));

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("../../etc/passwd")]
    [InlineData("")]
    public void Unknown_zones_are_not_found(string id) => Assert.False(LocalTimes.TryFindZone(id, out _));
}
