namespace JourneyWorker.Data;

// The one set of state names of the instance tables. SQL never spells them: the store passes them as parameters.

/// <summary>An instance's status: active (due now or running), waiting, or one of the three ends.</summary>
public static class InstanceStatus
{
    public const string Active = "active";
    public const string Waiting = "waiting";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Exited = "exited";
}

/// <summary>What a history step says happened at a node.</summary>
public static class StepOutcome
{
    public const string Entered = "entered";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string TimedOut = "timedOut";
    public const string Skipped = "skipped";
    public const string Exited = "exited";
}

/// <summary>An outbox row's status: the message is about to leave, left, was refused or was not sent on purpose.</summary>
public static class OutboxStatus
{
    public const string Pending = "pending";
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
}

/// <summary>What a message is for: only marketing messages are capped by (and counted in) frequency rules.</summary>
public static class MessageCategory
{
    public const string Marketing = "marketing";
    public const string Transactional = "transactional";

    public static readonly string[] All = [Marketing, Transactional];
}

/// <summary>
/// The two steps every instance starts with (its start node entered and succeeded) are not stored:
/// they are presented from the instance row. Stored steps start at this seq.
/// </summary>
public static class StoredSteps
{
    public const int FirstSeq = 2;
}
