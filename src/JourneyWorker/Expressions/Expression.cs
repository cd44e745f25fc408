using System.Globalization;
using System.Text;

namespace JourneyWorker.Expressions;

/// <summary>
/// The syntax tree of a rule. <see cref="Position"/> is the 0-based offset of the node in the source text,
/// so that validators can point at the part of a rule they reject.
/// </summary>
public abstract record Expression
{
    public int Position { get; init; }

    /// <summary>Every dotted path the expression reads (function arguments included), first occurrence first.</summary>
    public static IReadOnlyList<string> Paths(Expression expression)
    {
        var paths = new List<string>();
        Collect(expression, paths);
        return paths;
    }

    private static void Collect(Expression expression, List<string> paths)
    {
        switch (expression)
        {
            case PathExpression p when !paths.Contains(p.Path):
                paths.Add(p.Path);
                break;
            case FunctionExpression f:
                foreach (var argument in f.Arguments)
                {
                    Collect(argument, paths);
                }
                break;
            case ComparisonExpression c:
                Collect(c.Left, paths);
                Collect(c.Right, paths);
                break;
            case InExpression i:
                Collect(i.Value, paths);
                break;
            case NotExpression n:
                Collect(n.Operand, paths);
                break;
            case LogicalExpression l:
                foreach (var operand in l.Operands)
                {
                    Collect(operand, paths);
                }
                break;
        }
    }
}

/// <summary>A string, a number (double), a boolean or null.</summary>
public sealed record LiteralExpression(object? Value) : Expression
{
    public override string ToString() => Value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        string s => Quote(s),
        _ => Value.ToString() ?? "",
    };

    internal static string Quote(string s)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in s)
        {
            _ = c switch
            {
                '"' => builder.Append("\\\""),
                '\\' => builder.Append("\\\\"),
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                _ when char.IsControl(c) => builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => builder.Append(c),
            };
        }
        return builder.Append('"').ToString();
    }
}

/// <summary>A dotted path such as <c>homeAddress.city</c>; every segment is an identifier.</summary>
public sealed record PathExpression(string Path) : Expression
{
    public IReadOnlyList<string> Segments => Path.Split('.');

    public override string ToString() => Path;
}

public sealed record FunctionExpression(string Name, IReadOnlyList<Expression> Arguments) : Expression
{
    public override string ToString() => $"{Name}({string.Join(", ", Arguments)})";
}

public enum ComparisonOperator
{
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

public sealed record ComparisonExpression(ComparisonOperator Operator, Expression Left, Expression Right) : Expression
{
    public override string ToString() => $"({Left} {Symbol(Operator)} {Right})";

    public static string Symbol(ComparisonOperator op) => op switch
    {
        ComparisonOperator.Equal => "=",
        ComparisonOperator.NotEqual => "!=",
        ComparisonOperator.Less => "<",
        ComparisonOperator.LessOrEqual => "<=",
        ComparisonOperator.Greater => ">",
        _ => ">=",
    };
}

/// <summary><c>value in [..]</c>, or <c>value not in [..]</c> when <see cref="Negated"/>.</summary>
public sealed record InExpression(Expression Value, IReadOnlyList<LiteralExpression> Items, bool Negated) : Expression
{
    public override string ToString() => $"({Value} {(Negated ? "not in" : "in")} [{string.Join(", ", Items)}])";
}

public sealed record NotExpression(Expression Operand) : Expression
{
    public override string ToString() => $"(not {Operand})";
}

/// <summary>An <c>and</c> or <c>or</c> chain, kept flat so that long chains do not make deep trees.</summary>
public sealed record LogicalExpression(bool IsAnd, IReadOnlyList<Expression> Operands) : Expression
{
    public override string ToString() => $"({string.Join(IsAnd ? " and " : " or ", Operands)})";
}
