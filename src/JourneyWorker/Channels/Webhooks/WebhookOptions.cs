using System.ComponentModel.DataAnnotations;
using JourneyWorker.Channels.Email;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Webhooks;

public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>A signing key shorter than this is refused at start: it is the only thing a receiver trusts.</summary>
    public const int MinSigningKeyLength = 32;

    /// <summary>
    /// Hosts webhook nodes may call (none by default). An entry is a host name or IP address (it may also reach
    /// private addresses), <c>*.example.com</c> (any subdomain) or <c>*</c> (any host); a wildcard entry reaches public
    /// addresses only. The port is not part of an entry.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>HMAC-SHA256 key of <c>X-JourneyWorker-Signature</c> (UTF-8 bytes of this text); required once any host is allowed.</summary>
    public string? SigningKey { get; set; }

    /// <summary>How long one call may take when the node sets no timeout; short, because a call holds its instance's claim.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>A webhook setting that cannot work fails the start, not the first call.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var errors = new List<string>();
        EmailOptionsValidator.Annotations(options, WebhookOptions.Section, errors);
        foreach (var entry in options.AllowedHosts)
        {
            if (!WebhookHosts.IsValidEntry(entry))
            {
                errors.Add($"Webhooks:AllowedHosts entry '{entry}' is not a host name, an IP address, '*.domain' or '*' (no scheme, port or path).");
            }
        }
        if (options.AllowedHosts.Count > 0 && (options.SigningKey?.Trim().Length ?? 0) < WebhookOptions.MinSigningKeyLength)
        {
            errors.Add($"Webhooks:SigningKey must be set (at least {WebhookOptions.MinSigningKeyLength} characters, e.g. `openssl rand -hex 32`) "
                + "when Webhooks:AllowedHosts lists any host: receivers check every call's X-JourneyWorker-Signature with it.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
