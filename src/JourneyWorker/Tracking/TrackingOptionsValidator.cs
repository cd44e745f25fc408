using JourneyWorker.Infrastructure;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Tracking;

/// <summary>
/// Several workers share one PostgreSQL database, and any of them may receive the click on a link another one sent:
/// they must sign with one key. A key generated into one machine's data folder would make the others' links 404.
/// </summary>
public sealed class TrackingOptionsValidator(IOptions<StorageOptions> storage) : IValidateOptions<TrackingOptions>
{
    public ValidateOptionsResult Validate(string? name, TrackingOptions options) =>
        storage.Value.Provider == StorageProvider.PostgreSql && string.IsNullOrWhiteSpace(options.SigningKey)
            ? ValidateOptionsResult.Fail(
                "Tracking:SigningKey must be set, to the same value on every worker, when Storage:Provider is PostgreSql: "
                + "a key generated into one machine's data folder would make the tracking links another worker sent unreadable.")
            : ValidateOptionsResult.Success;
}
