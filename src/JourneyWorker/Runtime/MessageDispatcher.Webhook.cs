using JourneyWorker.Channels;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Runtime;

/// <summary>
/// Webhook nodes: rendered like messages (url, headers and body over profile, events, journey and earlier webhooks'
/// answers; nothing HTML-escaped), checkpointed in the outbox like messages, and their JSON answer kept with the
/// instance as webhooks.&lt;node&gt; for later templates and conditions.
/// </summary>
public sealed partial class MessageDispatcher
{
    private Flow PrepareWebhook(InstanceRun run, NodeDefinition node, OutboxMessage outbox, TemplateModel model)
    {
        // What a rendered URL, header or body gets wrong it gets wrong on every attempt: those fail at once.
        var rendered = templates.Render(node.Url!, model, html: false).Trim();
        if (!Uri.TryCreate(rendered, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || url.UserInfo.Length > 0)
        {
            return Complete(run, node, outbox, new SendResult(SendOutcome.Failed, $"The url renders to '{Shorten(rendered)}', which is not an http(s) URL."));
        }
        if (!webhookHosts.IsAllowed(url.IdnHost))
        {
            return Complete(run, node, outbox, new SendResult(SendOutcome.Failed, $"The url's host '{url.IdnHost}' is not in Webhooks:AllowedHosts."));
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, template) in node.Headers ?? [])
        {
            var value = templates.Render(template, model, html: false).Trim();
            if (value.Any(c => c is (< ' ' and not '\t') or > '~'))
            {
                return Complete(run, node, outbox, new SendResult(SendOutcome.Failed,
                    $"Header '{name}' renders to a value with a line break, a control character or a character outside ASCII."));
            }
            headers.Add(new(name, value));
        }

        var body = node.Body is null ? null : templates.Render(node.Body, model, html: false);
        var timeout = IsoDuration.TryParse(node.Timeout, out var configured) ? configured : webhookOptions.Value.Timeout;
        var call = new WebhookRequest((node.Method ?? "POST").ToUpperInvariant(), url, headers, body, timeout,
            WebhookSignature.IdempotencyKey(run.Instance.Id, node.Id!));
        run.PendingSend = new PreparedSend(node, outbox, null, "", null, null, body ?? "", null, []) { Webhook = call };
        return Flow.Send;
    }

    /// <summary>Keeps the JSON answer (or forgets an earlier one) and says what came back, for the step.</summary>
    private static string KeepAnswer(InstanceRun run, NodeDefinition node, WebhookResponse answer)
    {
        run.KeepWebhookResponse(node.Id!, answer.Json);
        return answer.Describe();
    }

    private static string Shorten(string text) => text.Length > 200 ? text[..200] + "…" : text;
}
