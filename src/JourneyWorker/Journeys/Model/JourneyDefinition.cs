using System.Text.Json;
using System.Text.Json.Serialization;

namespace JourneyWorker.Journeys.Model;

/// <summary>A journey as clients write it (CONTRACT "Journeys"). Every member is optional so that validation, not binding, reports what is missing.</summary>
public sealed record JourneyDefinition(
    string? Name,
    string? Start,
    string? Timeout,
    ReentranceDefinition? Reentrance,
    List<NodeDefinition>? Nodes)
{
    /// <summary>Events that end a running instance of the profile at once, wherever it is (status exited).</summary>
    public List<ExitDefinition>? Exit { get; init; }

    /// <summary>The event that counts as a conversion when it comes within a time of entry.</summary>
    public GoalDefinition? Goal { get; init; }

    /// <summary>How long an instance may run when the journey sets no timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromDays(91);
}

public sealed record ReentranceDefinition(bool? Allowed, string? WaitPeriod);

/// <summary>An exit criterion: an event (by configuration name) and optionally a condition on its payload.</summary>
public sealed record ExitDefinition(string? Event, string? When);

/// <summary>
/// A goal: an event (by configuration name, optionally with a condition on its payload) that counts as a conversion when it
/// comes within <see cref="Within"/> of the instance's entry; <see cref="Exit"/> ends a running instance when it does.
/// </summary>
public sealed record GoalDefinition(string? Event, string? When, string? Within, bool? Exit);

/// <summary>One node; which members matter depends on <see cref="Type"/>.</summary>
public sealed record NodeDefinition
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public string? Next { get; init; }

    // readAudience, audienceQualification
    public string? Audience { get; init; }
    /// <summary>audienceQualification: "enter" (the profile newly matches the audience) or "exit" (it stops matching).</summary>
    public string? On { get; init; }
    public ScheduleDefinition? Schedule { get; init; }
    /// <summary>Profiles per second admitted by Read Audience.</summary>
    public double? Throttle { get; init; }

    // email / push
    public string? Subject { get; init; }
    public string? Html { get; init; }
    public string? Text { get; init; }
    public string? Title { get; init; }
    public string? Body { get; init; }
    public Dictionary<string, string>? Data { get; init; }
    public string? ErrorNext { get; init; }
    /// <summary>marketing (the default: capped by the frequency rules) or transactional.</summary>
    public string? Category { get; init; }
    /// <summary>The path taken when a frequency rule caps the send; without it, <see cref="Next"/>.</summary>
    public string? CappedNext { get; init; }
    public SendWindowDefinition? SendWindow { get; init; }

    // webhook (also Body, Timeout and ErrorNext)
    public string? Method { get; init; }
    public string? Url { get; init; }
    public Dictionary<string, string>? Headers { get; init; }

    // reaction / event waits
    public string? Action { get; init; }
    public string? Reaction { get; init; }
    public string? Event { get; init; }
    public string? Timeout { get; init; }
    public string? TimeoutNext { get; init; }

    // wait
    public string? Duration { get; init; }
    /// <summary>A moment (the original form, an ISO 8601 string) or the next local time of day (an object).</summary>
    [JsonConverter(typeof(WaitUntilConverter))]
    public WaitUntil? Until { get; init; }

    // condition
    public List<BranchDefinition>? Branches { get; init; }
    public string? Otherwise { get; init; }

    // updateProfile: attribute path → template
    public Dictionary<string, string>? Set { get; init; }

    // jump: the id of the journey the profile enters
    public string? Journey { get; init; }

    /// <summary>
    /// Members the node type does not know, reported by validation. A dictionary, not a JsonObject:
    /// System.Text.Json writes a JsonObject extension member back as a nested object without a
    /// name, so the stored definition could no longer be read.
    /// </summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; init; }
}

public sealed record ScheduleDefinition(string? Frequency, DateTimeOffset? At, string? Cron);

/// <summary>A condition branch: a data condition (<see cref="When"/>) or a share of profiles (<see cref="Percent"/>).</summary>
public sealed record BranchDefinition(string? When, double? Percent, string? Next);

public static class NodeTypes
{
    public const string ReadAudience = "readAudience";
    public const string Event = "event";
    public const string Reaction = "reaction";
    public const string Email = "email";
    public const string Push = "push";
    public const string Wait = "wait";
    public const string Condition = "condition";
    public const string End = "end";
    public const string UpdateProfile = "updateProfile";
    public const string Jump = "jump";
    public const string JourneyEntry = "journeyEntry";
    public const string Webhook = "webhook";
    public const string AudienceQualification = "audienceQualification";

    public static readonly string[] All = [ReadAudience, Event, Reaction, Email, Push, Wait, Condition, End, UpdateProfile, Jump, JourneyEntry, Webhook, AudienceQualification];

    /// <summary>The node types a journey may start with.</summary>
    public static readonly string[] Entries = [ReadAudience, Event, JourneyEntry, AudienceQualification];

    /// <summary>The HTTP methods a webhook node may use (POST when it names none).</summary>
    public static readonly string[] WebhookMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    /// <summary>What an audienceQualification entry reacts to.</summary>
    public const string OnEnter = "enter";
    public const string OnExit = "exit";
    public static readonly string[] QualificationOn = [OnEnter, OnExit];

    public static readonly string[] Reactions = ["emailOpened", "emailClicked", "pushOpened"];

    public static readonly string[] Frequencies = ["once", "daily", "weekly", "cron"];
}

public static class JourneyStatus
{
    public const string Draft = "draft";
    public const string Live = "live";
    public const string Closed = "closed";
    public const string Stopped = "stopped";
    public const string Finished = "finished";
}
