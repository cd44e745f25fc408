using System.ComponentModel.DataAnnotations;

namespace JourneyWorker.Dashboard;

public sealed class DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>How long a dashboard session lasts without a request (sliding: each visit in the second half renews it).</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How often an open journey page refreshes its counts.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where the keys that protect the session and antiforgery cookies are kept (default: keys/ in the data folder).
    /// Processes that serve the dashboard behind one address on several machines share this folder, or the address
    /// keeps each browser on one process.
    /// </summary>
    public string? KeysDirectory { get; set; }
}
