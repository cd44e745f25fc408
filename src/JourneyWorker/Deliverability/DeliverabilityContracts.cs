using FluentValidation;
using MimeKit;

namespace JourneyWorker.Deliverability;

/// <summary>
/// Body of POST /api/email-feedback, for providers that report bounces and complaints as JSON (webhooks of SES, SendGrid,
/// Postmark and the like, mapped to this shape): <c>{"type": "bounce" | "complaint", "address": "...", "bounceType":
/// "hard" | "soft", "messageId": "...", "status": "5.1.1"}</c>. <c>address</c> or <c>messageId</c> (the Message-ID
/// JourneyWorker gave the message, with or without angle brackets) or both; <c>bounceType</c> for bounces only;
/// <c>status</c>, the enhanced status code, is optional and kept with the suppression.
/// </summary>
public sealed record EmailFeedbackRequest(string? Type, string? Address, string? BounceType, string? MessageId, string? Status);

/// <summary>The address the report was about, whether it is suppressed now (and why), and whether the message was found.</summary>
public sealed record EmailFeedbackResponse(string Address, bool Suppressed, string? Reason, bool MessageFound);

public sealed class EmailFeedbackRequestValidator : AbstractValidator<EmailFeedbackRequest>
{
    public EmailFeedbackRequestValidator()
    {
        RuleFor(r => r.Type).NotEmpty().WithMessage("'type' is required: bounce or complaint.")
            .Must(t => t is null or "bounce" or "complaint").WithMessage("'type' must be bounce or complaint.");
        When(r => r.Type == "bounce", () =>
            RuleFor(r => r.BounceType).NotEmpty().WithMessage("'bounceType' is required for a bounce: hard or soft.")
                .Must(b => b is null or "hard" or "soft").WithMessage("'bounceType' must be hard or soft."));
        When(r => r.Type == "complaint", () =>
            RuleFor(r => r.BounceType).Null().WithMessage("'bounceType' applies to bounces only."));
        RuleFor(r => r.Address).Must(BeAnAddress!).When(r => r.Address is not null)
            .WithMessage("'address' must be one plain e-mail address such as ann@example.com.");
        RuleFor(r => r.MessageId).Must(BeAMessageId!).When(r => r.MessageId is not null)
            .WithMessage("'messageId' must be a Message-ID without spaces, at most 998 characters.");
        RuleFor(r => r.Address).NotEmpty().When(r => string.IsNullOrWhiteSpace(r.MessageId))
            .WithMessage("Give 'address', 'messageId' or both: the report must say who or which message it is about.");
        RuleFor(r => r.Status).Matches(@"^[245]\.\d{1,3}\.\d{1,3}$").When(r => r.Status is not null)
            .WithMessage("'status' must be an enhanced status code such as 5.1.1 (RFC 3463).");
    }

    public static bool BeAnAddress(string address) =>
        address.Length <= 320 && !address.Any(char.IsControl) && MailboxAddress.TryParse(address.Trim(), out var mailbox)
        && mailbox.Address == address.Trim() && mailbox.LocalPart.Length > 0 && mailbox.Domain.Length > 0;

    private static bool BeAMessageId(string id)
    {
        var bare = id.Trim().TrimStart('<').TrimEnd('>');
        return bare.Length is > 0 and <= 998 && !bare.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>');
    }
}
