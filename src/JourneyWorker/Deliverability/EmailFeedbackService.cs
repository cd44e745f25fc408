using JourneyWorker.Channels.Email;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Deliverability;

/// <summary>
/// One bounce or complaint, however it came (a DSN or ARF report to the listener, or a provider's JSON post).
/// <paramref name="Kind"/> is one of <see cref="FeedbackKinds"/>; <paramref name="Address"/> the recipient it is about, when
/// the report names it; <paramref name="MessageId"/> (no angle brackets) and <paramref name="OutboxMessageId"/> (from a
/// VERP token) name the send; <paramref name="Detail"/> is the status code or feedback type.
/// </summary>
public sealed record FeedbackReport(string Kind, string? Address, string? MessageId, long? OutboxMessageId, string? Detail);

public enum FeedbackOutcome
{
    /// <summary>Recorded; the address may or may not be suppressed now (see <see cref="FeedbackResult.Suppressed"/>).</summary>
    Recorded,
    /// <summary>The report names no send of ours that is still kept (required of reports that come by SMTP).</summary>
    UnknownSend,
    /// <summary>Neither the report nor its send gives an address.</summary>
    NoAddress,
}

/// <summary>What a report did: the address it was about, whether that address is suppressed now and why.</summary>
public sealed record FeedbackResult(FeedbackOutcome Outcome, string? Address, bool Suppressed, string? Reason, bool SendFound);

/// <summary>
/// Turns bounces and complaints into suppressions: a hard bounce or a complaint suppresses the address at once,
/// Email:Bounces:SoftLimit soft bounces within Email:Bounces:SoftWindow (7 days) do. The send a report names gets a
/// reaction (bounced or complained), which is what the journey report counts per message node.
/// </summary>
public sealed partial class EmailFeedbackService(
    JourneyDbContext db,
    InstanceStore store,
    ReactionService reactions,
    Suppressions suppressions,
    IOptions<EmailOptions> options,
    TimeProvider time,
    JourneyTelemetry telemetry,
    ILogger<EmailFeedbackService> logger)
{
    /// <summary>
    /// Records the report and suppresses its address if it calls for that. With <paramref name="requireKnownSend"/> (reports
    /// that come by SMTP) it counts only when it names a send of ours, a genuine VERP token or the Message-ID of a kept
    /// outbox row: anyone can send mail to the listener, nobody but the recipient's side knows those. The JSON route is
    /// behind the admin key and may name an address alone.
    /// </summary>
    public async Task<FeedbackResult> RecordAsync(FeedbackReport report, bool requireKnownSend, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var outboxId = report.OutboxMessageId;
        if (outboxId is null && !string.IsNullOrWhiteSpace(report.MessageId))
        {
            outboxId = await store.MessageByIdAsync(report.MessageId.Trim().Trim('<', '>'), cancellationToken);
        }
        var owner = outboxId is { } id ? await store.MessageOwnerAsync(id, cancellationToken) : null;
        if (owner is null && requireKnownSend)
        {
            LogUnknownSend(logger, report.Kind, report.MessageId ?? "(none)");
            return new FeedbackResult(FeedbackOutcome.UnknownSend, report.Address, false, null, false);
        }

        // A DSN names the recipient exactly; a complaint is often redacted (or names a placeholder), so for it the address
        // the send went to, the profile's, comes first.
        var reported = string.IsNullOrWhiteSpace(report.Address) ? null : report.Address;
        var address = report.Kind == FeedbackKinds.Complaint && owner is not null
            ? await ProfileAddressAsync(owner.ProfileId, cancellationToken) ?? reported
            : reported ?? await ProfileAddressAsync(owner?.ProfileId, cancellationToken);
        if (address is null)
        {
            return new FeedbackResult(FeedbackOutcome.NoAddress, null, false, null, owner is not null);
        }
        address = Suppressions.Normalize(address);
        var key = ProfileAddresses.SuppressionKey(address);
        var now = time.GetUtcNow().UtcDateTime;

        // The same report of the same send twice (a DSN delivered again, a provider retrying its post) counts once.
        var sendId = owner is null ? null : outboxId;
        var repeated = sendId is not null && await db.EmailFeedback.AnyAsync(f => f.AddressHash == key && f.Kind == report.Kind && f.OutboxMessageId == sendId, cancellationToken);
        if (!repeated)
        {
            db.EmailFeedback.Add(new EmailFeedback { AddressHash = key, Kind = report.Kind, OutboxMessageId = sendId, Detail = Clip(report.Detail), At = now });
            await db.SaveChangesAsync(cancellationToken);
            telemetry.EmailFeedback(report.Kind);
        }

        var reason = report.Kind switch
        {
            FeedbackKinds.HardBounce => SuppressionReasons.HardBounce,
            FeedbackKinds.Complaint => SuppressionReasons.Complaint,
            _ => await SoftBouncesReachedAsync(key, now, cancellationToken) ? SuppressionReasons.SoftBounces : null,
        };
        if (reason is not null && await suppressions.AddAsync(address, reason, Clip(report.Detail), cancellationToken))
        {
            LogSuppressed(logger, reason, report.Detail ?? "");
        }

        if (sendId is { } send)
        {
            await reactions.RecordAsync(send, report.Kind == FeedbackKinds.Complaint ? FeedbackReactions.Complained : FeedbackReactions.Bounced, cancellationToken);
        }
        var entry = await suppressions.FindAsync(address, cancellationToken);
        return new FeedbackResult(FeedbackOutcome.Recorded, address, entry is not null, entry?.Reason, owner is not null);
    }

    private async Task<bool> SoftBouncesReachedAsync(string key, DateTime now, CancellationToken cancellationToken)
    {
        var bounces = options.Value.Bounces;
        var since = now - bounces.SoftWindow;
        return await db.EmailFeedback.CountAsync(f => f.AddressHash == key && f.Kind == FeedbackKinds.SoftBounce && f.At > since, cancellationToken) >= bounces.SoftLimit;
    }

    private async Task<string?> ProfileAddressAsync(long? profileId, CancellationToken cancellationToken)
    {
        if (profileId is null)
        {
            return null;
        }
        var profile = await db.Profiles.AsNoTracking().Include(p => p.Identities).FirstOrDefaultAsync(p => p.Id == profileId, cancellationToken);
        return profile is null ? null : ProfileAddresses.Email(profile);
    }

    private static string? Clip(string? detail) => detail is null ? null : detail.Length <= 200 ? detail : detail[..200];

    // No address in the log: suppressions are looked up by the operator through the API, logs are kept elsewhere and longer.
    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail address suppressed ({Reason}, {Detail})")]
    private static partial void LogSuppressed(ILogger logger, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ignored a {Kind} report that names no send of ours (Message-ID {MessageId})")]
    private static partial void LogUnknownSend(ILogger logger, string kind, string messageId);
}
