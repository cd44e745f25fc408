using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace JourneyWorker.Dashboard.Rendering;

/// <summary>
/// Markup that is safe to write as it is: it can only be made from literal markup in this assembly's source and from
/// values that were HTML-encoded on the way in (<see cref="HtmlHandler"/>). A string never becomes markup by itself.
/// </summary>
public readonly struct Markup
{
    private readonly string? _value;

    internal Markup(string value) => _value = value;

    public static Markup Empty => default;

    public string Value => _value ?? "";

    public override string ToString() => Value;

    public static Markup Join(IEnumerable<Markup> parts)
    {
        var builder = new StringBuilder();
        foreach (var part in parts)
        {
            builder.Append(part.Value);
        }
        return new Markup(builder.ToString());
    }

    /// <summary>
    /// Writes markup: the literal parts of the interpolated string as they are, every hole encoded (strings, numbers,
    /// dates) unless it is already <see cref="Markup"/>. Holes may sit in element content or in double-quoted attribute
    /// values: the encoder escapes &lt;, &gt;, &amp;, both quotes and more.
    /// </summary>
    public static Markup Html(ref HtmlHandler handler) => handler.ToMarkup();

    /// <summary>A value encoded for text or a quoted attribute.</summary>
    public static Markup Text(string? value) => new(Encode(value));

    /// <summary>Non-ASCII letters stay readable; markup characters are always escaped.</summary>
    internal static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    internal static string Encode(string? value) => string.IsNullOrEmpty(value) ? "" : Encoder.Encode(value);
}

/// <summary>Builds <see cref="Markup"/> from an interpolated string: literals verbatim, holes encoded.</summary>
[InterpolatedStringHandler]
public ref struct HtmlHandler
{
    private readonly StringBuilder _builder;

    public HtmlHandler(int literalLength, int formattedCount) => _builder = new StringBuilder(literalLength + formattedCount * 16);

    public readonly void AppendLiteral(string literal) => _builder.Append(literal);

    public readonly void AppendFormatted(Markup markup) => _builder.Append(markup.Value);

    public readonly void AppendFormatted(IEnumerable<Markup> parts)
    {
        foreach (var part in parts)
        {
            _builder.Append(part.Value);
        }
    }

    public readonly void AppendFormatted(string? value) => _builder.Append(Markup.Encode(value));

    public readonly void AppendFormatted<T>(T value) => AppendFormatted(value, null);

    /// <summary>A list of markup (which overload resolution sends here, not to the IEnumerable overload) stays markup.</summary>
    public readonly void AppendFormatted<T>(T value, string? format)
    {
        switch (value)
        {
            case Markup markup:
                AppendFormatted(markup);
                break;
            case IEnumerable<Markup> parts:
                AppendFormatted(parts);
                break;
            case IFormattable formattable:
                _builder.Append(Markup.Encode(formattable.ToString(format, CultureInfo.InvariantCulture)));
                break;
            default:
                _builder.Append(Markup.Encode(value?.ToString()));
                break;
        }
    }

    internal readonly Markup ToMarkup() => new(_builder.ToString());
}
