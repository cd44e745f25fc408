using System.Text.Json.Nodes;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using JourneyWorker.Tracking;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Runtime;

/// <summary>
/// Runs email and push nodes. Each send is recorded as an outbox row keyed by (instance, node)
/// and checkpointed before it leaves, so a crash between send and commit is visible and the retry
/// reuses the same message id. Channel failures become durable retries (the instance comes due
/// again after a backoff) until the attempts are spent.
/// </summary>
public sealed class MessageDispatcher(
    IEmailSender email,
    IPushSender push,
    TemplateRenderer templates,
    MessageDecorator decorator,
    JourneyMetrics metrics,
    WriteGate writes)
{
    public async Task<Flow> SendAsync(RunContext c, NodeDefinition node, CancellationToken cancellationToken)
    {
        var run = c.Run;
        var channel = node.Type!;
        var outbox = await run.Db.OutboxMessages.FirstOrDefaultAsync(m => m.InstanceId == run.Instance.Id && m.NodeId == node.Id, cancellationToken);
        if (outbox is null)
        {
            outbox = new OutboxMessage
            {
                InstanceId = run.Instance.Id,
                NodeId = node.Id!,
                Channel = channel,
                MessageId = MessageIds.For(run.Instance.Id, node.Id!),
                Status = OutboxStatus.Pending,
                CreatedAt = run.Now.UtcDateTime,
            };
            run.Db.OutboxMessages.Add(outbox);
            run.Step(node.Id!, StepOutcome.Entered);
        }
        else if (outbox.Status == OutboxStatus.Sent)
        {
            return Succeeded(c, node, outbox, "already sent");
        }

        if (await SuppressionReasonAsync(c, channel, cancellationToken) is { } suppressed)
        {
            outbox.Status = OutboxStatus.Skipped;
            outbox.Error = suppressed;
            metrics.MessageSent(channel, OutboxStatus.Skipped);
            run.Step(node.Id!, StepOutcome.Skipped, suppressed);
            run.Instance.NodeId = node.Next;
            return Flow.Continue;
        }

        // Checkpoint: progress so far and the outbox row are durable before anything leaves.
        outbox.Attempts++;
        await writes.RunAsync(() => run.Db.SaveChangesAsync(cancellationToken), cancellationToken);

        var model = Model(c);
        SendResult result;
        try
        {
            result = channel == NodeTypes.Email
                ? await SendEmailAsync(c, node, outbox, model, cancellationToken)
                : await SendPushAsync(c, node, outbox, model, cancellationToken);
        }
        catch (TemplateRenderException e)
        {
            // A template that cannot render for this profile will not render on a retry either.
            result = new SendResult(SendOutcome.Failed, $"The message could not be rendered: {e.Message}");
        }

        switch (result.Outcome)
        {
            case SendOutcome.Sent:
                return Succeeded(c, node, outbox, null);
            case SendOutcome.RetryLater when outbox.Attempts < RetryPolicy.MaxAttempts:
                outbox.Error = result.Error;
                metrics.MessageSent(channel, "retry");
                run.RetryAt(run.Now + RetryPolicy.Backoff(outbox.Attempts, result.RetryAfter));
                return Flow.Stop;
            default:
                var reason = result.Outcome == SendOutcome.RetryLater
                    ? $"Gave up after {outbox.Attempts} attempts: {result.Error}"
                    : result.Error ?? "The channel refused the message.";
                outbox.Status = OutboxStatus.Failed;
                outbox.Error = reason;
                metrics.MessageSent(channel, OutboxStatus.Failed);
                run.Step(node.Id!, StepOutcome.Failed, reason);
                if (node.ErrorNext is not null)
                {
                    run.Instance.NodeId = node.ErrorNext;
                    return Flow.Continue;
                }
                run.End(InstanceStatus.Failed, "sendFailed");
                return Flow.Stop;
        }
    }

    private Flow Succeeded(RunContext c, NodeDefinition node, OutboxMessage outbox, string? detail)
    {
        outbox.Status = OutboxStatus.Sent;
        outbox.SentAt ??= c.Run.Now.UtcDateTime;
        outbox.Error = null;
        metrics.MessageSent(outbox.Channel, OutboxStatus.Sent);
        c.Run.Step(node.Id!, StepOutcome.Succeeded, detail);
        c.Run.Instance.NodeId = node.Next;
        return Flow.Continue;
    }

    private static async Task<string?> SuppressionReasonAsync(RunContext c, string channel, CancellationToken cancellationToken)
    {
        switch (channel)
        {
            case NodeTypes.Email when !c.Profile.ConsentEmail:
                return "E-mail consent is withdrawn.";
            case NodeTypes.Email:
                var address = ProfileAddresses.Email(c.Profile) is { } a ? ProfileAddresses.SuppressionKey(a) : null;
                return address is not null && await c.Run.Db.EmailSuppressions.AnyAsync(s => s.AddressHash == address, cancellationToken)
                    ? "The address unsubscribed."
                    : null;
            case NodeTypes.Push when !c.Profile.ConsentPush:
                return "Push consent is withdrawn.";
            default:
                return null;
        }
    }

    private async Task<SendResult> SendEmailAsync(RunContext c, NodeDefinition node, OutboxMessage outbox, TemplateModel model, CancellationToken cancellationToken)
    {
        var to = ProfileAddresses.Email(c.Profile);
        if (to is null)
        {
            return new SendResult(SendOutcome.Failed, "The profile has no e-mail address (personalEmail.address or an email identity).");
        }

        var subject = templates.Render(node.Subject!, model, html: false);
        var html = templates.Render(node.Html!, model, html: true);
        var text = node.Text is null ? null : templates.Render(node.Text, model, html: false);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        html = await decorator.DecorateEmailAsync(c.Run.Db, outbox, html, headers, cancellationToken);
        return await email.SendAsync(new EmailMessage(outbox.MessageId, to, subject, html, text, headers), cancellationToken);
    }

    private async Task<SendResult> SendPushAsync(RunContext c, NodeDefinition node, OutboxMessage outbox, TemplateModel model, CancellationToken cancellationToken)
    {
        var tokens = c.Profile.PushTokens.Where(t => t.RetiredAt is null).ToList();
        if (tokens.Count == 0)
        {
            return new SendResult(SendOutcome.Failed, "The profile has no live push token.");
        }

        var title = templates.Render(node.Title!, model, html: false);
        var body = templates.Render(node.Body!, model, html: false);
        var data = (node.Data ?? []).ToDictionary(d => d.Key, d => templates.Render(d.Value, model, html: false), StringComparer.Ordinal);
        decorator.DecoratePush(outbox, data);

        SendResult? retry = null;
        string? lastError = null;
        var sent = 0;
        foreach (var token in tokens)
        {
            var result = await push.SendAsync(new PushMessage(outbox.MessageId, token.Token, token.Platform, title, body, data), cancellationToken);
            switch (result.Outcome)
            {
                case SendOutcome.Sent:
                    sent++;
                    break;
                case SendOutcome.TokenDead:
                    // Also in memory: a later push node in this same run (errorNext) must not try it again.
                    token.RetiredAt = c.Run.Now.UtcDateTime;
                    await c.Run.Db.PushTokens.Where(t => t.Id == token.Id)
                        .ExecuteUpdateAsync(s => s.SetProperty(t => t.RetiredAt, c.Run.Now.UtcDateTime), cancellationToken);
                    lastError = $"The device token was unregistered: {result.Error}";
                    break;
                case SendOutcome.RetryLater:
                    retry = result;
                    break;
                default:
                    lastError = result.Error;
                    break;
            }
        }

        return sent > 0 ? new SendResult(SendOutcome.Sent)
            : retry ?? new SendResult(SendOutcome.Failed, lastError ?? "No device accepted the message.");
    }

    private static TemplateModel Model(RunContext c)
    {
        var profile = JsonNode.Parse(c.Profile.Attributes) as JsonObject ?? [];
        profile["id"] = c.Profile.Id;
        var journey = new JsonObject
        {
            ["id"] = c.Journey.Version.JourneyId.ToString(),
            ["name"] = c.Journey.JourneyName,
            ["version"] = c.Journey.Version.Version,
        };
        return new TemplateModel(profile, (JsonObject)c.Events.DeepClone(), journey);
    }
}

public static class OutboxStatus
{
    public const string Pending = "pending";
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
}

public static class MessageIds
{
    /// <summary>Stable per (instance, node): the same message id on every attempt, so a resend is recognisable.</summary>
    public static string For(long instanceId, string nodeId)
    {
        var safe = new string([.. nodeId.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' ? ch : '-')]);
        return $"{instanceId}.{safe}@journeyworker";
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
