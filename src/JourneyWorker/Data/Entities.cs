namespace JourneyWorker.Data;

// Entities are persistence shapes only: endpoints map them to sealed record responses.
// Timestamps are UTC DateTime; due-work columns on the hot table are unix milliseconds so
// that SQL can compare and order them on any provider.

public sealed class Profile
{
    public long Id { get; set; }
    /// <summary>Free-form JSON object of profile attributes.</summary>
    public string Attributes { get; set; } = "{}";
    public bool ConsentEmail { get; set; } = true;
    public bool ConsentPush { get; set; } = true;
    public bool IsTest { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public List<ProfileIdentity> Identities { get; set; } = [];
    public List<PushToken> PushTokens { get; set; } = [];
}

public sealed class ProfileIdentity
{
    public long Id { get; set; }
    public long ProfileId { get; set; }
    public required string Namespace { get; set; }
    public required string Value { get; set; }
}

public sealed class PushToken
{
    public long Id { get; set; }
    public long ProfileId { get; set; }
    public required string Token { get; set; }
    public required string Platform { get; set; }
    /// <summary>Set when the push service reported the token dead; retired tokens are never used again.</summary>
    public DateTime? RetiredAt { get; set; }
}

/// <summary>
/// A long import (<c>Prefer: respond-async</c>): its progress as of the last batch committed, stored in that batch's
/// transaction, so that after a restart it reads as interrupted with the lines that were really written.
/// </summary>
public sealed class ProfileImport
{
    public Guid Id { get; set; }
    /// <summary>One of <c>Profiles.ImportStatuses</c>.</summary>
    public required string Status { get; set; }
    public long Imported { get; set; }
    public long Failed { get; set; }
    /// <summary>The first line errors, as a JSON array of { line, error }.</summary>
    public string Errors { get; set; } = "[]";
    /// <summary>Why it stopped early (failed or interrupted); null while running or completed.</summary>
    public string? Reason { get; set; }
    /// <summary>The process running it (machine, process, host): who can tell whether it is still running.</summary>
    public required string Owner { get; set; }
    /// <summary>The body's announced length (Content-Length), when there was one: what the ETA is reckoned from.</summary>
    public long? TotalBytes { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
}

public sealed class Audience
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Rule { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// A profile that matched an audience's rule when it was last written (or when the audience began to be tracked).
/// Kept only for audiences that a live or test-mode audienceQualification journey uses: the difference between this
/// and the rule evaluated after a profile write is who newly qualifies (enter) or stopped qualifying (exit).
/// </summary>
public sealed class AudienceMember
{
    public Guid AudienceId { get; set; }
    public long ProfileId { get; set; }
}

public sealed class EventConfig
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>"ruleBased" or "systemGenerated".</summary>
    public required string IdType { get; set; }
    public string? Condition { get; set; }
    /// <summary>For systemGenerated configurations: the value a payload carries as field eventID.</summary>
    public string? EventId { get; set; }
    public required string Namespace { get; set; }
    public required string ProfileIdentifier { get; set; }
    /// <summary>JSON array of {path, type}.</summary>
    public string Fields { get; set; } = "[]";
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class Journey
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public DateTime CreatedAt { get; set; }
    public List<JourneyVersion> Versions { get; set; } = [];
}

public sealed class JourneyVersion
{
    public Guid Id { get; set; }
    public Guid JourneyId { get; set; }
    public int Version { get; set; }
    /// <summary>draft, live, closed, stopped or finished.</summary>
    public required string Status { get; set; }
    /// <summary>The journey definition as posted (JSON).</summary>
    public required string Definition { get; set; }
    public bool TestMode { get; set; }
    public TimeSpan? WaitOverride { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public DateTime? PublishedAt { get; set; }
    public DateTime? EndedAt { get; set; }
    /// <summary>When a once-scheduled Read Audience finished; a read interrupted by a restart runs again (admission skips profiles already in).</summary>
    public DateTime? AudienceReadAt { get; set; }
}

public sealed class JourneyInstance
{
    public long Id { get; set; }
    public Guid JourneyId { get; set; }
    public Guid JourneyVersionId { get; set; }
    public long ProfileId { get; set; }
    /// <summary>active (due now), waiting, completed, failed or exited.</summary>
    public required string Status { get; set; }
    public string? NodeId { get; set; }
    /// <summary>Unix ms when the instance is due (step to run or wait timing out); null while it waits without a timeout.</summary>
    public long? DueAt { get; set; }
    /// <summary>What a waiting instance waits for, e.g. "event:purchase" or "reaction:emailOpened:first".</summary>
    public string? WaitingFor { get; set; }
    public string? LeaseOwner { get; set; }
    public long? LeaseUntil { get; set; }
    /// <summary>JSON object: events.&lt;name&gt; payloads and other per-instance state.</summary>
    public string Context { get; set; } = "{}";
    public bool IsTest { get; set; }
    /// <summary>Next step sequence number; with the unique (InstanceId, Seq) key a step can never be recorded twice.</summary>
    public int NextSeq { get; set; }
    /// <summary>Unix ms of the journey's global timeout for this instance.</summary>
    public long DeadlineAt { get; set; }
    public DateTime EnteredAt { get; set; }
    public DateTime? EndedAt { get; set; }
    public string? EndReason { get; set; }
    /// <summary>
    /// The W3C traceparent of the event that admitted or last resumed the instance: its runs and sends continue that trace.
    /// Null when nothing was traced then (no exporter) or for instances no event caused (Read Audience).
    /// </summary>
    public string? TraceParent { get; set; }
}

/// <summary>
/// A journey's goal met by an instance: at most one per instance, attributed to the last message node the instance had
/// passed (null: none yet).
/// </summary>
public sealed class Conversion
{
    public long InstanceId { get; set; }
    public Guid JourneyId { get; set; }
    public Guid JourneyVersionId { get; set; }
    public string? NodeId { get; set; }
    public DateTime At { get; set; }
}

/// <summary>
/// What a journey's report counts at one node of one version, kept up to date with the writes it counts (see
/// <c>NodeCounterDeltas</c>) so that a report reads a few rows instead of the step history. Each row is one writer's
/// share (<see cref="Shard"/>): on PostgreSQL two workers never wait for each other on a counter row; a report sums
/// the shards. Step columns count stored steps by outcome (entry steps are not stored: a version's entries are the sum
/// of its instance columns); instance columns count the instances whose row is now at this node in that status
/// (NodeId "" for an instance at no node).
/// </summary>
public sealed class NodeCounter
{
    public Guid VersionId { get; set; }
    public required string NodeId { get; set; }
    public int Shard { get; set; }
    public long Entered { get; set; }
    public long Succeeded { get; set; }
    public long Failed { get; set; }
    public long TimedOut { get; set; }
    public long Skipped { get; set; }
    public long Exited { get; set; }
    public long Active { get; set; }
    public long Waiting { get; set; }
    public long EndedCompleted { get; set; }
    public long EndedFailed { get; set; }
    public long EndedExited { get; set; }
    public long Conversions { get; set; }
}

public sealed class InstanceStep
{
    public long Id { get; set; }
    public long InstanceId { get; set; }
    public int Seq { get; set; }
    public required string NodeId { get; set; }
    /// <summary>entered, succeeded, failed, timedOut, skipped or exited.</summary>
    public required string Outcome { get; set; }
    public DateTime At { get; set; }
    public string? Detail { get; set; }
}

public sealed class OutboxMessage
{
    public long Id { get; set; }
    public long InstanceId { get; set; }
    /// <summary>The instance's profile, kept on the row so that frequency caps count a profile's sends with one index seek.</summary>
    public long ProfileId { get; set; }
    public required string NodeId { get; set; }
    /// <summary>email or push.</summary>
    public required string Channel { get; set; }
    /// <summary>marketing (counted by frequency caps) or transactional (never capped nor counted).</summary>
    public string Category { get; set; } = MessageCategory.Marketing;
    /// <summary>Stable per (instance, node): a retry after a crash reuses it.</summary>
    public required string MessageId { get; set; }
    /// <summary>pending, sent, failed or skipped.</summary>
    public required string Status { get; set; }
    public int Attempts { get; set; }
    public string? Error { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? SentAt { get; set; }
}

public sealed class StoredEvent
{
    public Guid Id { get; set; }
    public DateTime ReceivedAt { get; set; }
    public string? IdempotencyKey { get; set; }
    public required string Payload { get; set; }
    /// <summary>JSON array of matched configuration names.</summary>
    public string Matched { get; set; } = "[]";
    public long? ProfileId { get; set; }
    public int Routed { get; set; }
    public string? Reason { get; set; }
}

public sealed class TrackedLink
{
    public long Id { get; set; }
    public long OutboxMessageId { get; set; }
    public int Index { get; set; }
    public required string Url { get; set; }
}

public sealed class MessageReaction
{
    public long Id { get; set; }
    public long OutboxMessageId { get; set; }
    /// <summary>emailOpened, emailClicked, pushOpened or unsubscribed.</summary>
    public required string Kind { get; set; }
    public DateTime At { get; set; }
}

/// <summary>
/// An address that is never mailed again, whichever profile carries it: it unsubscribed, bounced hard, complained or
/// bounced soft too often. Keyed by a hash so that the entry survives forgetting a person: forgetting clears
/// <see cref="Address"/> and keeps the hash.
/// </summary>
public sealed class EmailSuppression
{
    /// <summary>SHA-256 (hex) of the trimmed, lower-cased address.</summary>
    public required string AddressHash { get; set; }
    public DateTime At { get; set; }
    /// <summary>unsubscribed, hardBounce, complaint or softBounces (<see cref="Deliverability.SuppressionReasons"/>).</summary>
    public required string Reason { get; set; }
    /// <summary>The address as reported, for the operator's list; null once its person is forgotten (and on entries older than this column).</summary>
    public string? Address { get; set; }
    /// <summary>What caused it, e.g. the DSN status "5.1.1" or the ARF feedback type.</summary>
    public string? Detail { get; set; }
}

/// <summary>
/// One bounce or complaint reported for an address (by hash, like suppressions): soft bounces are counted from
/// these, and the send they name (when known) is kept so that the same report twice counts once.
/// </summary>
public sealed class EmailFeedback
{
    public long Id { get; set; }
    public required string AddressHash { get; set; }
    /// <summary>hardBounce, softBounce or complaint (<see cref="Deliverability.FeedbackKinds"/>).</summary>
    public required string Kind { get; set; }
    public long? OutboxMessageId { get; set; }
    public string? Detail { get; set; }
    public DateTime At { get; set; }
}

/// <summary>
/// One frequency cap across all journeys (CONTRACT "Journeys 2"): at most <see cref="Max"/> marketing messages of
/// <see cref="Channel"/> (email, push or any) per profile in any window of <see cref="Per"/>. The whole list is replaced at once.
/// </summary>
public sealed class FrequencyRule
{
    public long Id { get; set; }
    /// <summary>Where the rule stands in the list the client sent: the first rule a send breaks is the one named.</summary>
    public int Position { get; set; }
    public required string Channel { get; set; }
    public int Max { get; set; }
    public TimeSpan Per { get; set; }
}
