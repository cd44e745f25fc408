using System.Text;
using System.Text.Json;

namespace JourneyWorker.Profiles;

/// <summary>
/// The import's fast path for one line: a profile in the plain shape exports write (identities, attributes, consent,
/// testProfile; no nulls, no escaped or repeated names), read straight from the line's bytes with a Utf8JsonReader, its
/// attributes kept as the line's own text when that text is already what the JsonObject round trip of the general
/// path writes (compact, nothing the default encoder escapes). A line it does not vouch for (push tokens, another
/// shape, anything invalid) takes the general path (JsonSerializer, the validator), which decides and words the
/// errors; so the fast path changes what an import costs, never what it stores or answers.
/// </summary>
public static class ProfileLineReader
{
    /// <summary>Property names tracked per line to refuse a repeated one; a line with more takes the general path.</summary>
    private const int MaxNames = 256;

    private const int MaxDepth = 64;

    /// <summary>The line as a valid request with at least one identity and its attributes' stored text, or false.</summary>
    public static bool TryRead(ReadOnlySpan<byte> line, out ProfileRequest? request, out string? attributes)
    {
        (request, attributes) = (null, null);
        try
        {
            return TryReadCore(line, ref request, ref attributes);
        }
        catch (JsonException)
        {
            // Not JSON at all, or too deep: the general path words the error.
            (request, attributes) = (null, null);
            return false;
        }
    }

    private static bool TryReadCore(ReadOnlySpan<byte> line, ref ProfileRequest? request, ref string? attributes)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        Dictionary<string, string>? identities = null;
        ConsentRequest? consent = null;
        bool? test = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return false;
            }
            if (reader.ValueTextEquals("identities"u8) && identities is null)
            {
                if (!TryReadIdentities(ref reader, out identities))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("attributes"u8) && attributes is null)
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }
                var start = (int)reader.TokenStartIndex;
                if (!TrySkipCanonical(ref reader, line))
                {
                    return false;
                }
                attributes = Encoding.UTF8.GetString(line[start..(int)reader.BytesConsumed]);
            }
            else if (reader.ValueTextEquals("consent"u8) && consent is null)
            {
                if (!TryReadConsent(ref reader, out consent))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("testProfile"u8) && test is null)
            {
                if (!reader.Read() || reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    return false;
                }
                test = reader.GetBoolean();
            }
            else
            {
                return false;
            }
        }
        // The object must be closed and be all the line holds (JsonSerializer refuses trailing content too).
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || identities is not { Count: > 0 })
        {
            return false;
        }
        attributes ??= "{}";
        request = new ProfileRequest(identities, null, null, consent, test);
        return true;
    }

    private static bool TryReadIdentities(ref Utf8JsonReader reader, out Dictionary<string, string>? identities)
    {
        identities = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        var found = new Dictionary<string, string>(1, StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                return false;
            }
            var value = reader.GetString()!;
            // The validator's rules (20 at most, each key and value plain); a repeated key is left to the general path.
            if (found.Count == 20 || !IdentityRules.IsValid(key) || !IdentityRules.IsValid(value) || !found.TryAdd(key, value))
            {
                return false;
            }
        }
        identities = found;
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool TryReadConsent(ref Utf8JsonReader reader, out ConsentRequest? consent)
    {
        consent = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }
        bool? email = null, push = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isEmail = reader.ValueTextEquals("email"u8) && email is null;
            var isPush = !isEmail && reader.ValueTextEquals("push"u8) && push is null;
            if (reader.ValueIsEscaped || !(isEmail || isPush)
                || !reader.Read() || reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
            {
                return false;
            }
            if (isEmail)
            {
                email = reader.GetBoolean();
            }
            else
            {
                push = reader.GetBoolean();
            }
        }
        consent = new ConsentRequest(email, push);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>
    /// Reads to the end of the object the reader is at; true when its text is what JsonObject.ToJsonString() writes of
    /// it: no whitespace between tokens, no escape and nothing the default encoder escapes in a string (non-ASCII,
    /// control characters, HTML-sensitive ones), no name repeated within an object (JsonObject would keep one).
    /// </summary>
    private static bool TrySkipCanonical(ref Utf8JsonReader reader, ReadOnlySpan<byte> line)
    {
        Span<(int Start, int Length)> names = stackalloc (int, int)[MaxNames];
        Span<int> levels = stackalloc int[MaxDepth + 1];
        var (count, depth) = (0, 0);
        levels[0] = 0;
        var start = (int)reader.TokenStartIndex;
        do
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    levels[++depth] = count;
                    break;
                case JsonTokenType.EndObject:
                    count = levels[depth--];
                    break;
                case JsonTokenType.PropertyName:
                    var name = reader.ValueSpan;
                    var at = (int)reader.TokenStartIndex + 1;
                    for (var i = levels[depth]; i < count; i++)
                    {
                        if (line.Slice(names[i].Start, names[i].Length).SequenceEqual(name))
                        {
                            return false;
                        }
                    }
                    if (count == MaxNames || reader.ValueIsEscaped)
                    {
                        return false;
                    }
                    names[count++] = (at, name.Length);
                    break;
                case JsonTokenType.String when reader.ValueIsEscaped:
                    return false;
            }
        }
        while (depth > 0 && reader.Read());
        return depth == 0 && IsCanonical(line[start..(int)reader.BytesConsumed]);
    }

    /// <summary>No whitespace outside strings, and inside them only the printable ASCII the default encoder writes as is.</summary>
    private static bool IsCanonical(ReadOnlySpan<byte> json)
    {
        var inString = false;
        foreach (var b in json)
        {
            if (inString)
            {
                if (b == '"')
                {
                    inString = false;
                }
                else if (b is < 0x20 or >= 0x7F or (byte)'\\' or (byte)'<' or (byte)'>' or (byte)'&' or (byte)'\'' or (byte)'+' or (byte)'`')
                {
                    return false;
                }
            }
            else if (b == '"')
            {
                inString = true;
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                return false;
            }
        }
        return true;
    }
}
