namespace JourneyWorker.Deliverability;

/// <summary>Why an address is suppressed (EmailSuppressions.Reason).</summary>
public static class SuppressionReasons
{
    public const string Unsubscribed = "unsubscribed";
    public const string HardBounce = "hardBounce";
    public const string Complaint = "complaint";
    public const string SoftBounces = "softBounces";

    /// <summary>The detail of the skipped step.</summary>
    public static string Describe(string reason) => reason switch
    {
        Unsubscribed => "The address unsubscribed.",
        HardBounce => "The address is suppressed: it bounced (hard bounce).",
        Complaint => "The address is suppressed: its recipient reported a message as spam.",
        SoftBounces => "The address is suppressed: it bounced temporarily too often.",
        _ => $"The address is suppressed ({reason}).",
    };
}

/// <summary>What a bounce or complaint report says (EmailFeedback.Kind).</summary>
public static class FeedbackKinds
{
    public const string HardBounce = "hardBounce";
    public const string SoftBounce = "softBounce";
    public const string Complaint = "complaint";
}

/// <summary>Reactions recorded on a message from bounce and complaint reports (MessageReactions.Kind), counted in reports.</summary>
public static class FeedbackReactions
{
    public const string Bounced = "bounced";
    public const string Complained = "complained";
}
