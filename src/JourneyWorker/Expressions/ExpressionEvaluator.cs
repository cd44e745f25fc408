using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace JourneyWorker.Expressions;

/// <summary>
/// Evaluates an expression in memory. <see cref="ExpressionSql"/> translates the same semantics to SQLite and PostgreSQL
/// and tests hold the three to the same answer on random data, so a change here needs the same change there.
/// <para>Semantics (two-valued: every expression is true or false, never "unknown"):</para>
/// <list type="bullet">
/// <item>A missing path and a JSON null are both null. <c>x = null</c> is true when x is null, <c>x != null</c> when it is not;
/// every other comparison with a null operand is false, <c>!=</c> included. Test presence with <c>exists(x)</c>.</item>
/// <item>Numbers compare numerically (as doubles). A string holding a plain decimal number (<c>-?[0-9]+(\.[0-9]+)?</c>,
/// e.g. "1985") compares numerically against a number; two strings always compare as strings.</item>
/// <item>Strings compare case-sensitively by their UTF-8 bytes (SQLite's BINARY collation, PostgreSQL's "C"); use <c>lower()</c> to ignore case.
/// <c>lower()</c> folds ASCII letters only, as SQLite's lower() does.</item>
/// <item>Booleans equal booleans only and have no order. Objects and arrays equal nothing and have no order.
/// Values of different types are never equal, so <c>!=</c> between two non-null values of different types is true.</item>
/// <item><c>x in [a, b]</c> is <c>x = a or x = b</c>; <c>x not in [a, b]</c> is <c>x != null and x != a and x != b</c>,
/// so like <c>!=</c> it is false for a missing x (write <c>not (x in [..])</c> to include missing values).</item>
/// <item>A bare value in a boolean position (<c>vip</c>, <c>not vip</c>) is true only when it is the boolean true.</item>
/// <item><c>contains(s, x)</c> and <c>startsWith(s, x)</c>: both strings, case-sensitive; false otherwise.
/// <c>exists(p)</c>: p is present and not null.</item>
/// <item><c>year(d)</c>: a number or numeric string without fraction is taken as the year; a string starting "YYYY-"
/// (ISO 8601 date or date-time) gives those four digits, the calendar year as written; anything else is null.</item>
/// <item><c>now()</c> is the evaluation time as an ISO 8601 UTC string (<c>yyyy-MM-ddTHH:mm:ss.fffZ</c>), so it orders
/// correctly against date-times stored in the same UTC form.</item>
/// </list>
/// </summary>
public static class ExpressionEvaluator
{
    public static bool IsTrue(Expression e, Func<string, JsonNode?> resolvePath, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(resolvePath);
        return Truthy(Evaluate(e, resolvePath, now));
    }

    /// <summary>Evaluates against a JSON object whose nested objects the dotted paths walk.</summary>
    public static bool IsTrue(Expression e, JsonObject root, DateTimeOffset now) => IsTrue(e, path => Resolve(root, path), now);

    /// <summary>Walks dotted segments through nested objects; anything else on the way means missing (null).</summary>
    public static JsonNode? Resolve(JsonObject root, string path)
    {
        JsonNode? node = root;
        foreach (var segment in path.Split('.'))
        {
            node = node is JsonObject o && o.TryGetPropertyValue(segment, out var child) ? child : null;
            if (node is null)
            {
                return null;
            }
        }
        return node;
    }

    public static string FormatNow(DateTimeOffset now) => now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static bool Truthy(Value v) => v.Kind == ValueKind.Boolean && v.Boolean;

    private static Value Evaluate(Expression e, Func<string, JsonNode?> resolve, DateTimeOffset now) => e switch
    {
        LiteralExpression l => Value.FromLiteral(l.Value),
        PathExpression p => Value.FromJson(resolve(p.Path)),
        FunctionExpression f => Call(f, resolve, now),
        ComparisonExpression c => Value.OfBool(Compare(c.Operator, Evaluate(c.Left, resolve, now), Evaluate(c.Right, resolve, now))),
        InExpression i => Value.OfBool(In(Evaluate(i.Value, resolve, now), i)),
        NotExpression n => Value.OfBool(!Truthy(Evaluate(n.Operand, resolve, now))),
        LogicalExpression { IsAnd: true } l => Value.OfBool(l.Operands.All(o => Truthy(Evaluate(o, resolve, now)))),
        LogicalExpression l => Value.OfBool(l.Operands.Any(o => Truthy(Evaluate(o, resolve, now)))),
        _ => throw new NotSupportedException(e.GetType().Name),
    };

    private static bool In(Value value, InExpression i)
    {
        var items = i.Items.Select(item => Value.FromLiteral(item.Value));
        return i.Negated
            ? !value.IsNull && items.All(item => Compare(ComparisonOperator.NotEqual, value, item))
            : items.Any(item => Compare(ComparisonOperator.Equal, value, item));
    }

    internal static bool Compare(ComparisonOperator op, Value left, Value right)
    {
        if (op is ComparisonOperator.Equal or ComparisonOperator.NotEqual && (left.IsNullLiteral || right.IsNullLiteral))
        {
            var isNull = left.IsNullLiteral ? right.IsNull : left.IsNull;
            return op == ComparisonOperator.Equal ? isNull : !isNull;
        }

        if (op == ComparisonOperator.NotEqual)
        {
            return !left.IsNull && !right.IsNull && !Compare(ComparisonOperator.Equal, left, right);
        }

        int? order = (left.Kind, right.Kind) switch
        {
            (ValueKind.Number, ValueKind.Number) => left.Number.CompareTo(right.Number),
            (ValueKind.Number, ValueKind.String) when NumericString(right.Text) is { } r => left.Number.CompareTo(r),
            (ValueKind.String, ValueKind.Number) when NumericString(left.Text) is { } l => l.CompareTo(right.Number),
            (ValueKind.String, ValueKind.String) => Math.Sign(Encoding.UTF8.GetBytes(left.Text!).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(right.Text!))),
            (ValueKind.Boolean, ValueKind.Boolean) when op == ComparisonOperator.Equal => left.Boolean == right.Boolean ? 0 : 1,
            _ => null,
        };
        return order is { } o && op switch
        {
            ComparisonOperator.Equal => o == 0,
            ComparisonOperator.Less => o < 0,
            ComparisonOperator.LessOrEqual => o <= 0,
            ComparisonOperator.Greater => o > 0,
            _ => o >= 0,
        };
    }

    private static Value Call(FunctionExpression f, Func<string, JsonNode?> resolve, DateTimeOffset now)
    {
        var args = f.Arguments.Select(a => Evaluate(a, resolve, now)).ToArray();
        return f.Name switch
        {
            "exists" => Value.OfBool(!args[0].IsNull),
            "contains" => Value.OfBool(args[0].Kind == ValueKind.String && args[1].Kind == ValueKind.String && args[0].Text!.Contains(args[1].Text!, StringComparison.Ordinal)),
            "startsWith" => Value.OfBool(args[0].Kind == ValueKind.String && args[1].Kind == ValueKind.String && args[0].Text!.StartsWith(args[1].Text!, StringComparison.Ordinal)),
            "lower" => args[0].Kind == ValueKind.String ? Value.OfString(AsciiLower(args[0].Text!)) : Value.Null,
            "year" => Year(args[0]),
            "now" => Value.OfString(FormatNow(now)),
            _ => throw new NotSupportedException(f.Name),
        };
    }

    private static Value Year(Value v)
    {
        if (v.Kind == ValueKind.Number)
        {
            return Math.Abs(v.Number) < 1e15 && Math.Floor(v.Number) == v.Number ? v : Value.Null;
        }
        if (v.Kind != ValueKind.String)
        {
            return Value.Null;
        }
        if (NumericString(v.Text) is { } n && !v.Text!.Contains('.', StringComparison.Ordinal))
        {
            return Value.OfNumber(n);
        }
        var t = v.Text!;
        return t.Length >= 5 && char.IsAsciiDigit(t[0]) && char.IsAsciiDigit(t[1]) && char.IsAsciiDigit(t[2]) && char.IsAsciiDigit(t[3]) && t[4] == '-'
            ? Value.OfNumber(int.Parse(t.AsSpan(0, 4), CultureInfo.InvariantCulture))
            : Value.Null;
    }

    /// <summary>The number a string holds when it is written <c>-?[0-9]+(\.[0-9]+)?</c>; null otherwise.</summary>
    public static double? NumericString(string? s)
    {
        if (string.IsNullOrEmpty(s))
        {
            return null;
        }
        var digits = s[0] == '-' ? s.AsSpan(1) : s.AsSpan();
        if (digits.Length == 0 || !char.IsAsciiDigit(digits[0]) || digits[^1] == '.')
        {
            return null;
        }
        var dots = 0;
        foreach (var c in digits)
        {
            if (c == '.')
            {
                dots++;
            }
            else if (!char.IsAsciiDigit(c))
            {
                return null;
            }
        }
        return dots > 1 ? null : double.Parse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
    }

    public static string AsciiLower(string s) => string.Create(s.Length, s, (span, source) =>
    {
        for (var i = 0; i < source.Length; i++)
        {
            span[i] = char.IsAsciiLetterUpper(source[i]) ? (char)(source[i] + 32) : source[i];
        }
    });

    internal enum ValueKind
    {
        Null,
        Boolean,
        Number,
        String,
        Other,
    }

    internal readonly record struct Value(ValueKind Kind, bool Boolean, double Number, string? Text, bool IsNullLiteral)
    {
        public static readonly Value Null = new(ValueKind.Null, false, 0, null, false);

        public bool IsNull => Kind == ValueKind.Null;

        public static Value OfBool(bool b) => new(ValueKind.Boolean, b, 0, null, false);

        public static Value OfNumber(double d) => new(ValueKind.Number, false, d, null, false);

        public static Value OfString(string s) => new(ValueKind.String, false, 0, s, false);

        public static Value FromLiteral(object? literal) => literal switch
        {
            null => Null with { IsNullLiteral = true },
            bool b => OfBool(b),
            double d => OfNumber(d),
            string s => OfString(s),
            _ => Null,
        };

        public static Value FromJson(JsonNode? node)
        {
            if (node is null)
            {
                return Null;
            }
            return node.GetValueKind() switch
            {
                JsonValueKind.True => OfBool(true),
                JsonValueKind.False => OfBool(false),
                // Parsed from the JSON text, as SQLite does, whatever CLR type the node was built from.
                JsonValueKind.Number => OfNumber(double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)),
                JsonValueKind.String => OfString(node.GetValue<string>()),
                JsonValueKind.Object or JsonValueKind.Array => new Value(ValueKind.Other, false, 0, null, false),
                _ => Null,
            };
        }
    }
}
