using System.ComponentModel.DataAnnotations;
using JourneyWorker.Channels.Email;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Push;

public sealed class PushOptions
{
    public const string Section = "Push";

    /// <summary>Where FCM-shaped .json files go when no FCM project is configured; relative paths resolve against the content root.</summary>
    [Required]
    public string PickupDirectory { get; set; } = "data/outbox/push";

    public FcmOptions Fcm { get; set; } = new();
}

public sealed class FcmOptions
{
    /// <summary>Empty means: write messages to the pickup directory instead.</summary>
    public string? ProjectId { get; set; }

    /// <summary>Service-account JSON key file; relative paths resolve against the content root.</summary>
    public string? CredentialsFile { get; set; }

    [Required, Url]
    public string BaseUrl { get; set; } = "https://fcm.googleapis.com";

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool HasProject => !string.IsNullOrWhiteSpace(ProjectId);
}

internal sealed class PushOptionsValidator : IValidateOptions<PushOptions>
{
    public ValidateOptionsResult Validate(string? name, PushOptions options)
    {
        var errors = new List<string>();
        EmailOptionsValidator.Annotations(options, "Push", errors);
        EmailOptionsValidator.Annotations(options.Fcm, "Push:Fcm", errors);
        if (options.Fcm.HasProject && string.IsNullOrWhiteSpace(options.Fcm.CredentialsFile))
        {
            errors.Add("Push:Fcm:CredentialsFile is required when Push:Fcm:ProjectId is set.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
