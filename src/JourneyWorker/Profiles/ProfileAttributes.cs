using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace JourneyWorker.Profiles;

/// <summary>
/// Dotted paths into a profile's attributes as a journey's updateProfile node writes them: the same path syntax
/// conditions and audience rules read (<c>homeAddress.city</c>), which attributes a journey may not write, and the
/// write itself.
/// </summary>
public static partial class ProfileAttributes
{
    public const int MaxPathLength = 200;
    public const int MaxDepth = 10;

    /// <summary>Where the e-mail address is read from (CONTRACT "Profiles"); see <see cref="IsAddress"/>.</summary>
    public const string EmailAddressPath = "personalEmail.address";

    /// <summary>Whether <paramref name="path"/> is a dotted path conditions and rules can read back.</summary>
    public static bool IsValidPath(string? path) =>
        path is { Length: > 0 and <= MaxPathLength } && PathSyntax().IsMatch(path) && path.Count(c => c == '.') < MaxDepth;

    /// <summary>
    /// Consent is not an attribute: it is the profile's consent (e-mail, push), changed only by the profile upsert and
    /// the unsubscribe link. An attribute that looks like consent would be read by nobody and mislead whoever reads
    /// the profile, so a journey may not write one (any top-level name starting with "consent": consent, consents,
    /// consentEmail…).
    /// </summary>
    public static bool IsConsent(string path) =>
        path.Split('.')[0].StartsWith("consent", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The e-mail address is derived from the attribute personalEmail.address: it decides where mail goes and which
    /// unsubscription applies, so it comes only from the system that owns the profile. True for the address, the
    /// object holding it, and anything under it.
    /// </summary>
    public static bool IsAddress(string path) =>
        IsPrefix(path, EmailAddressPath) || IsPrefix(EmailAddressPath, path);

    /// <summary>Whether <paramref name="prefix"/> is <paramref name="path"/> or one of the objects on its way.</summary>
    public static bool IsPrefix(string prefix, string path) =>
        path.Length == prefix.Length
            ? string.Equals(path, prefix, StringComparison.Ordinal)
            : path.Length > prefix.Length && path[prefix.Length] == '.' && path.StartsWith(prefix, StringComparison.Ordinal);

    /// <summary>
    /// Sets <paramref name="value"/> at <paramref name="path"/>, creating the objects on the way. False (and nothing
    /// changed) when something on the way is not an object: a journey never overwrites a value with an object.
    /// </summary>
    public static bool TrySet(JsonObject attributes, string path, JsonNode? value)
    {
        var segments = path.Split('.');
        var current = attributes;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            if (!current.TryGetPropertyValue(segments[i], out var child) || child is null)
            {
                // Whatever of the path is missing is created; nothing exists below a missing object, so no check is left.
                var created = new JsonObject();
                current[segments[i]] = created;
                current = created;
            }
            else if (child is JsonObject nested)
            {
                current = nested;
            }
            else
            {
                return false;
            }
        }
        current[segments[^1]] = value;
        return true;
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex PathSyntax();
}
