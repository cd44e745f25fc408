using System.Diagnostics;
using JourneyWorker.Channels;
using JourneyWorker.Channels.Email;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;

namespace JourneyWorker.Runtime;

/// <summary>The network side of a message: the send on its channel (e-mail, push, webhook), timed and traced.</summary>
public sealed partial class MessageDispatcher
{
    /// <summary>
    /// Sends the prepared message; its outbox row (with its id) is durable by now. Timed per channel and outcome, and
    /// traced as a span under the run's (so the SMTP or FCM call beneath it is in the trace of the event that caused it).
    /// </summary>
    public async Task<SendResult> SendAsync(InstanceRun run, CancellationToken cancellationToken)
    {
        var send = run.PendingSend!;
        var channel = send.Outbox.Channel;
        using var activity = run.Activity is { } parent
            ? JourneyTelemetry.Source.StartActivity("journeyworker.send", ActivityKind.Client, parent.Context)
            : null;
        if (activity is not null)
        {
            activity.SetTag("journeyworker.channel", channel);
            activity.SetTag("journeyworker.node.id", send.Node.Id);
            activity.SetTag("journeyworker.message.id", send.Outbox.MessageId);
            activity.SetTag("journeyworker.attempt", send.Outbox.Attempts);
        }
        var started = time.GetTimestamp();
        var result = await SendOnChannelAsync(run, send, cancellationToken);
        var outcome = result.Outcome switch
        {
            SendOutcome.Sent => OutboxStatus.Sent,
            SendOutcome.RetryLater => "retry",
            _ => OutboxStatus.Failed,
        };
        telemetry.SendTook(channel, outcome, time.GetElapsedTime(started));
        if (activity is not null)
        {
            activity.SetTag("journeyworker.outcome", outcome);
            if (result.Outcome != SendOutcome.Sent)
            {
                activity.SetStatus(ActivityStatusCode.Error, result.Error);
            }
        }
        return result;
    }

    private async Task<SendResult> SendOnChannelAsync(InstanceRun run, PreparedSend send, CancellationToken cancellationToken)
    {
        try
        {
            if (send.Webhook is { } call)
            {
                return await webhooks.CallAsync(call, cancellationToken);
            }
            if (send.Html is { } body)
            {
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                var clickUrls = body.TextPlan is null || send.Text is not null ? null : new List<string>(body.Links.Count);
                var html = decorator.DecorateEmail(body, send.Outbox.Id, headers, clickUrls);
                BulkHeaders(run, send.Node, headers);
                // Without a text template the text alternative is the body's; put together from the template's pieces when it has them.
                var text = send.Text ?? (clickUrls is null ? null : EmailBodies.Text(body, clickUrls));
                return await email.SendAsync(
                    new EmailMessage(send.Outbox.MessageId, send.To!, send.Subject, html, text, headers, returnPaths.For(send.Outbox.Id)), cancellationToken);
            }
            return await SendPushAsync(run, send, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A sender classifies what it knows; anything else is treated as passing trouble, bounded by the retry budget.
            return new SendResult(SendOutcome.RetryLater, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<SendResult> SendPushAsync(InstanceRun run, PreparedSend send, CancellationToken cancellationToken)
    {
        var data = new Dictionary<string, string>(send.Data!, StringComparer.Ordinal);
        decorator.DecoratePush(send.Outbox.Id, data);

        SendResult? retry = null;
        string? lastError = null;
        var sent = 0;
        foreach (var token in send.Tokens)
        {
            var result = await push.SendAsync(new PushMessage(send.Outbox.MessageId, token.Token, token.Platform, send.Subject, send.Body, data), cancellationToken);
            switch (result.Outcome)
            {
                case SendOutcome.Sent:
                    sent++;
                    break;
                case SendOutcome.TokenDead:
                    // Also in memory: a later push node in this same run (errorNext) must not try it again.
                    token.RetiredAt = run.Now.UtcDateTime;
                    run.RetiredTokens.Add(token.Id);
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

        return sent > 0 ? SendResult.Sent
            : retry ?? new SendResult(SendOutcome.Failed, lastError ?? "No device accepted the message.");
    }
}
