using System.Text.Json.Nodes;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Tracking;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Runtime;

/// <summary>A message ready to leave once its outbox row is durable: rendered, with the links to record.</summary>
public sealed record PreparedSend(NodeDefinition Node, OutboxMessage Outbox, string? To, string Subject, PreparedEmailBody? Html, string? Text,
    string Body, IReadOnlyDictionary<string, string>? Data, IReadOnlyList<PushToken> Tokens)
{
    /// <summary>Set for a webhook node: the call to make (the other members are then unused).</summary>
    public WebhookRequest? Webhook { get; init; }
}

/// <summary>
/// Runs email, push and webhook nodes in three parts, so that a batch can checkpoint every message it is about
/// to send in one transaction: <see cref="Prepare"/> (in memory: outbox row keyed by (instance, node),
/// consent and suppression, rendering), then the caller writes the checkpoint, then
/// <see cref="SendAsync"/> (the network) and <c>Complete</c> (in memory again). A crash between
/// send and commit is visible in the outbox and the retry reuses the same message id. Channel failures
/// become durable retries (the instance comes due again after a backoff) until the attempts are spent.
/// A webhook call is a message of channel "webhook" with the same outbox row, checkpoint and retries.
/// </summary>
public sealed partial class MessageDispatcher(
    IEmailSender email,
    IPushSender push,
    IWebhookCaller webhooks,
    WebhookHosts webhookHosts,
    IOptions<WebhookOptions> webhookOptions,
    TemplateRenderer templates,
    MessageDecorator decorator,
    ProfileTimeZones zones,
    MessageIds messageIds,
    ReturnPaths returnPaths,
    JourneyTelemetry telemetry,
    TimeProvider time)
{
    // What is the same for every profile of an e-mail template, worked out once (links, the text alternative's pieces).
    private readonly EmailBodies _bodies = new(templates);

    /// <summary>
    /// Continue or Stop when the node was settled without sending (Stop also when the send waits for its window to
    /// open); Send when <see cref="InstanceRun.PendingSend"/> is set. <paramref name="suppressedAddresses"/>: the
    /// suppression reason by address key (<see cref="ProfileAddresses.SuppressionKey"/>).
    /// </summary>
    public Flow Prepare(InstanceRun run, NodeDefinition node, IReadOnlyDictionary<string, string> suppressedAddresses)
    {
        var channel = node.Type!;
        if (!run.Outbox.TryGetValue(node.Id!, out var outbox))
        {
            // A send already under way (a retry, a checkpoint repeated after a crash) goes on whatever the time.
            var (deferred, note) = DeferToWindow(run, node);
            if (deferred)
            {
                return Flow.Stop;
            }
            outbox = new OutboxMessage
            {
                InstanceId = run.Instance.Id,
                ProfileId = run.Instance.ProfileId,
                NodeId = node.Id!,
                Channel = channel,
                // A webhook call is no message to the person: frequency rules neither cap nor count it.
                Category = channel == NodeTypes.Webhook ? MessageCategory.Transactional : node.Category ?? MessageCategory.Marketing,
                // Drawn once, here: the row is durable before the message leaves, and every retry reads it back.
                MessageId = messageIds.For(run.Instance.Id, node.Id!),
                Status = OutboxStatus.Pending,
                CreatedAt = run.Now.UtcDateTime,
            };
            run.Outbox[node.Id!] = outbox;
            run.Touch(outbox);
            if (run.WokeFromWindow != node.Id)
            {
                run.Step(node.Id!, StepOutcome.Entered, note);
            }
        }
        else if (outbox.Status == OutboxStatus.Sent)
        {
            return Succeeded(run, node, outbox, "already sent");
        }

        if (SuppressionReason(run, channel, suppressedAddresses) is { } suppressed)
        {
            outbox.Status = OutboxStatus.Skipped;
            outbox.Error = suppressed;
            run.Touch(outbox);
            telemetry.MessageSent(channel, OutboxStatus.Skipped);
            run.Step(node.Id!, StepOutcome.Skipped, suppressed);
            run.MoveTo(node.Next);
            return Flow.Continue;
        }

        outbox.Attempts++;
        run.Touch(outbox);
        try
        {
            var model = Model(run);
            if (channel == NodeTypes.Webhook)
            {
                return PrepareWebhook(run, node, outbox, model);
            }
            if (channel == NodeTypes.Email)
            {
                if (run.EmailAddress is not { } to)
                {
                    return Complete(run, node, outbox, new SendResult(SendOutcome.Failed, "The profile has no e-mail address (personalEmail.address or an email identity)."));
                }
                var html = _bodies.Render(node.Html!, model);
                var text = node.Text is null ? null : templates.Render(node.Text, model, html: false);
                run.PendingSend = new PreparedSend(node, outbox, to, templates.Render(node.Subject!, model, html: false), html, text, "", null, []);
            }
            else
            {
                var tokens = run.Profile!.PushTokens.Where(t => t.RetiredAt is null).ToList();
                if (tokens.Count == 0)
                {
                    return Complete(run, node, outbox, new SendResult(SendOutcome.Failed, "The profile has no live push token."));
                }
                var data = (node.Data ?? []).ToDictionary(d => d.Key, d => templates.Render(d.Value, model, html: false), StringComparer.Ordinal);
                run.PendingSend = new PreparedSend(node, outbox, null, templates.Render(node.Title!, model, html: false), null, null,
                    templates.Render(node.Body!, model, html: false), data, tokens);
            }
        }
        catch (TemplateRenderException e)
        {
            // A template that cannot render for this profile will not render on a retry either.
            return Complete(run, node, outbox, new SendResult(SendOutcome.Failed, $"The message could not be rendered: {e.Message}"));
        }
        return Flow.Send;
    }

    /// <summary>
    /// A frequency rule capped the pending send (decided in the checkpoint, before it was written): the message is
    /// recorded as skipped, naming the rule, and the run goes on along cappedNext, else next.
    /// </summary>
    public void Capped(InstanceRun run, string rule)
    {
        var send = run.PendingSend!;
        run.PendingSend = null;
        var outbox = send.Outbox;
        outbox.Status = OutboxStatus.Skipped;
        outbox.Attempts = 0; // never attempted: only a message not yet checkpointed is capped
        outbox.Error = rule;
        run.Touch(outbox);
        telemetry.MessageSent(outbox.Channel, OutboxStatus.Skipped);
        run.Step(send.Node.Id!, StepOutcome.Skipped, rule);
        run.MoveTo(send.Node.CappedNext ?? send.Node.Next);
    }

    /// <summary>Applies the outcome of the pending send to the run.</summary>
    public Flow Complete(InstanceRun run, SendResult result)
    {
        var send = run.PendingSend!;
        run.PendingSend = null;
        return Complete(run, send.Node, send.Outbox, result);
    }

    private Flow Complete(InstanceRun run, NodeDefinition node, OutboxMessage outbox, SendResult result)
    {
        run.Touch(outbox);
        switch (result.Outcome)
        {
            case SendOutcome.Sent:
                return Succeeded(run, node, outbox, result.Webhook is { } answer ? KeepAnswer(run, node, answer) : null);
            case SendOutcome.RetryLater when outbox.Attempts < RetryPolicy.MaxAttempts:
                outbox.Error = result.Error;
                telemetry.MessageSent(outbox.Channel, "retry");
                run.RetryAt(run.Now + RetryPolicy.Backoff(outbox.Attempts, result.RetryAfter));
                return Flow.Stop;
            default:
                var reason = result.Outcome == SendOutcome.RetryLater
                    ? $"Gave up after {outbox.Attempts} attempts: {result.Error}"
                    : result.Error ?? "The channel refused the message.";
                outbox.Status = OutboxStatus.Failed;
                outbox.Error = reason;
                telemetry.MessageSent(outbox.Channel, OutboxStatus.Failed);
                run.Step(node.Id!, StepOutcome.Failed, reason);
                if (node.ErrorNext is not null)
                {
                    run.MoveTo(node.ErrorNext);
                    return Flow.Continue;
                }
                run.End(InstanceStatus.Failed, "sendFailed");
                return Flow.Stop;
        }
    }

    private Flow Succeeded(InstanceRun run, NodeDefinition node, OutboxMessage outbox, string? detail)
    {
        outbox.Status = OutboxStatus.Sent;
        outbox.SentAt ??= run.Now.UtcDateTime;
        outbox.Error = null;
        run.Touch(outbox);
        telemetry.MessageSent(outbox.Channel, OutboxStatus.Sent);
        run.Step(node.Id!, StepOutcome.Succeeded, detail);
        run.MoveTo(node.Next);
        return Flow.Continue;
    }

    /// <summary>
    /// What mailbox providers expect of bulk mail besides the unsubscribe headers: List-Id (RFC 2919) naming the journey
    /// (its id only: a journey's name is internal), and Feedback-ID, by which Gmail's feedback loop reports complaints
    /// per journey and node.
    /// </summary>
    private void BulkHeaders(InstanceRun run, NodeDefinition node, Dictionary<string, string> headers)
    {
        var journey = run.Journey!.Version.JourneyId.ToString("N");
        headers["List-Id"] = $"<{journey}.{messageIds.Domain}>";
        headers["Feedback-ID"] = $"{MessageIds.SafeNodeId(node.Id!)}:{journey}:journeyworker:{messageIds.Domain}";
    }

    private static string? SuppressionReason(InstanceRun run, string channel, IReadOnlyDictionary<string, string> suppressedAddresses) => channel switch
    {
        NodeTypes.Email when !run.Profile!.ConsentEmail => "E-mail consent is withdrawn.",
        NodeTypes.Email when run.EmailAddress is { } address && suppressedAddresses.TryGetValue(ProfileAddresses.SuppressionKey(address), out var reason)
            => SuppressionReasons.Describe(reason),
        NodeTypes.Push when !run.Profile!.ConsentPush => "Push consent is withdrawn.",
        _ => null,
    };

    /// <summary>What templates of this run see: the profile as it stands in the run, its events, the journey.</summary>
    internal static TemplateModel Model(InstanceRun run)
    {
        var profile = JsonNode.Parse(run.Profile!.Attributes) as JsonObject ?? [];
        profile["id"] = run.Profile.Id;
        var journey = new JsonObject
        {
            ["id"] = run.Journey!.Version.JourneyId.ToString(),
            ["name"] = run.Journey.JourneyName,
            ["version"] = run.Journey.Version.Version,
        };
        return new TemplateModel(profile, (JsonObject)run.Events.DeepClone(), journey, (JsonObject)run.Webhooks.DeepClone());
    }
}

public static class ProfileAddresses
{
    public static string SuppressionKey(string address) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(address.Trim().ToLowerInvariant())));

    /// <summary>CONTRACT: attribute personalEmail.address, else the email identity.</summary>
    public static string? Email(Profile profile)
    {
        var attributes = JsonNode.Parse(profile.Attributes) as JsonObject;
        if (attributes?["personalEmail"] is JsonObject personal && personal["address"] is JsonValue value
            && value.TryGetValue<string>(out var address) && !string.IsNullOrWhiteSpace(address))
        {
            return address;
        }
        return profile.Identities.FirstOrDefault(i => i.Namespace == "email")?.Value;
    }
}
