using System.Xml;

namespace JourneyWorker.Journeys.Model;

/// <summary>ISO 8601 durations ("P1D", "PT5S") as used throughout journey definitions.</summary>
public static class IsoDuration
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text) || text[0] != 'P')
        {
            return false;
        }

        try
        {
            duration = XmlConvert.ToTimeSpan(text);
            return duration > TimeSpan.Zero;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    public static string Format(TimeSpan duration) => XmlConvert.ToString(duration);
}
