using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Journeys;

public sealed partial class JourneyValidator
{
    public static readonly TimeSpan MinWebhookTimeout = TimeSpan.FromSeconds(1);

    /// <summary>A call holds its instance's claim while it waits: a long one could outlast the claim and be made twice.</summary>
    public static readonly TimeSpan MaxWebhookTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Set by JourneyWorker on every call (or by HTTP itself): a node cannot override them.</summary>
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        WebhookSignature.IdempotencyHeader, WebhookSignature.Header, "Host", "Content-Length", "Transfer-Encoding", "Connection",
        "Keep-Alive", "Upgrade", "TE", "Trailer", "Expect",
    };

    private void CheckWebhook(NodeDefinition node, Action<string?, string, string> error, List<ValidationIssue> warnings)
    {
        if (node.Id is { } id && !id.All(c => c is > ' ' and < '\x7f'))
        {
            error(id, "webhook.idInvalid", $"Webhook node id '{id}' must be printable ASCII without spaces: it is part of the call's Idempotency-Key.");
        }
        else if (node.Id is { } name && !IsIdentifier(name))
        {
            warnings.Add(new(name, "webhook.idNotAddressable",
                $"Conditions cannot read webhooks.{name}.… ('{name}' is not a name of letters, digits and '_'); templates can, as webhooks[\"{name}\"]."));
        }

        if (string.IsNullOrWhiteSpace(node.Url))
        {
            error(node.Id, "webhook.urlMissing", $"Webhook '{node.Id}' needs a url.");
        }
        else
        {
            if (!WebhookHosts.TryLiteralHost(node.Url, out var host, out var problem))
            {
                error(node.Id, "webhook.urlInvalid", $"Webhook '{node.Id}' url {problem}.");
            }
            else if (!webhookHosts.IsAllowed(host))
            {
                error(node.Id, "webhook.hostNotAllowed", $"Webhook '{node.Id}' calls host '{host}', which Webhooks:AllowedHosts does not allow"
                    + (webhookHosts.AnyAllowed ? "." : " (it lists no host: webhooks are off until an operator allows some)."));
            }
            CheckTemplate(node, "url", node.Url, required: false, error);
        }

        var method = node.Method ?? "POST";
        if (!NodeTypes.WebhookMethods.Contains(method, StringComparer.OrdinalIgnoreCase))
        {
            error(node.Id, "webhook.methodInvalid", $"Webhook '{node.Id}' method '{node.Method}' is not one of {string.Join(", ", NodeTypes.WebhookMethods)}.");
        }
        else if (method.Equals("GET", StringComparison.OrdinalIgnoreCase) && node.Body is not null)
        {
            error(node.Id, "webhook.bodyNotAllowed", $"Webhook '{node.Id}' is a GET: it cannot carry a body (use POST, PUT or PATCH, or put the values in the url).");
        }
        CheckTemplate(node, "body", node.Body, required: false, error);

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (header, value) in node.Headers ?? [])
        {
            if (header.Length == 0 || !header.All(IsTokenChar))
            {
                error(node.Id, "webhook.headerInvalid", $"Webhook '{node.Id}' header name '{header}' is not a valid HTTP header name.");
            }
            else if (ReservedHeaders.Contains(header))
            {
                error(node.Id, "webhook.headerInvalid", $"Webhook '{node.Id}' cannot set header '{header}': JourneyWorker or HTTP sets it.");
            }
            else if (!seen.Add(header))
            {
                error(node.Id, "webhook.headerInvalid", $"Webhook '{node.Id}' sets header '{header}' twice (header names ignore case).");
            }
            CheckTemplate(node, $"headers.{header}", value, required: true, error);
        }

        if (node.Timeout is null)
        {
            return;
        }
        if (!IsoDuration.TryParse(node.Timeout, out var timeout))
        {
            error(node.Id, "timeout.invalid", $"Webhook '{node.Id}' timeout '{node.Timeout}' is not an ISO 8601 duration such as PT10S.");
        }
        else if (timeout < MinWebhookTimeout || timeout > MaxWebhookTimeout)
        {
            error(node.Id, "timeout.outOfRange",
                $"Webhook '{node.Id}' timeout must be between {IsoDuration.Format(MinWebhookTimeout)} and {IsoDuration.Format(MaxWebhookTimeout)}.");
        }
    }

    /// <summary>A path segment of the expression language: a letter or '_', then letters, digits or '_'.</summary>
    private static bool IsIdentifier(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>RFC 9110 token characters.</summary>
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
