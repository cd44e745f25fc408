using System.Buffers;
using Parlot;
using Parlot.Fluent;
using static Parlot.Fluent.Parsers;

namespace JourneyWorker.Expressions;

/// <summary>A parse error: 0-based character position and a message that names it.</summary>
public sealed record ExpressionError(int Position, string Message);

public sealed class ExpressionParseException(ExpressionError error) : FormatException(error.Message)
{
    public int Position { get; } = error.Position;

    public ExpressionError Error { get; } = error;
}

/// <summary>
/// Parses the rule language (see CONTRACT.md, "Expressions") with Parlot. Precedence, loosest first:
/// <c>or</c>, <c>and</c>, <c>not</c>, then one comparison (<c>= == != &lt; &lt;= &gt; &gt;= in, not in</c>).
/// Keywords are lower case. Input length and nesting are bounded so that hostile text is an error, never a hang or a crash.
/// </summary>
public static class ExpressionParser
{
    public const int MaxLength = 4000;
    /// <summary>Deepest nesting of parentheses and brackets.</summary>
    public const int MaxNesting = 32;
    /// <summary>Deepest syntax tree (bounds "not not not ..." chains that bracket counting does not see).</summary>
    public const int MaxDepth = 64;

    public static readonly IReadOnlyDictionary<string, int> Functions = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["exists"] = 1,
        ["contains"] = 2,
        ["startsWith"] = 2,
        ["lower"] = 1,
        ["year"] = 1,
        ["now"] = 0,
    };

    private static readonly HashSet<string> _keywords = ["and", "or", "not", "in", "true", "false", "null"];
    private static readonly Parser<Expression> _grammar = BuildGrammar();

    public static Expression Parse(string text) =>
        TryParse(text, out var expression, out var error) ? expression! : throw new ExpressionParseException(error!);

    public static bool TryParse(string text, out Expression? expression, out ExpressionError? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        expression = null;
        error = Precheck(text);
        if (error is not null)
        {
            return false;
        }

        // Nesting is bounded by Precheck and MaxDepth; 'not' chains are read in a loop, so recursion stays shallow.
        var context = new ParseContext(new Scanner(text));
        try
        {
            if (!_grammar.TryParse(context, out var parsed, out var parseError))
            {
                error = At(text, parseError?.Position.Offset ?? 0, Reword(parseError?.Message ?? "Expected an expression"));
                return false;
            }

            context.SkipWhiteSpace();
            var offset = context.Scanner.Cursor.Offset;
            if (offset < text.Length)
            {
                error = At(text, offset, $"Unexpected '{Snippet(text, offset)}'");
                return false;
            }

            if (Deepest(parsed, 1) is { } tooDeep)
            {
                error = At(text, tooDeep.Position, $"The expression is nested deeper than {MaxDepth} levels");
                return false;
            }

            expression = parsed;
            return true;
        }
        catch (ParseException e)
        {
            error = At(text, e.Position.Offset, Reword(e.Message));
            return false;
        }
        catch (InsufficientExecutionStackException)
        {
            error = new ExpressionError(0, "The expression is nested too deeply");
            return false;
        }
    }

    /// <summary>Parlot's own recursion guard (a long "not not not ..." chain) is the same problem as MaxDepth: say it the same way.</summary>
    private static string Reword(string message) => message.Contains("recursion depth", StringComparison.Ordinal)
        ? $"The expression is nested deeper than {MaxDepth} levels"
        : message;

    /// <summary>Length and bracket nesting, checked before the recursive descent starts.</summary>
    private static ExpressionError? Precheck(string text)
    {
        if (text.Length > MaxLength)
        {
            return new ExpressionError(MaxLength, $"The expression is longer than {MaxLength} characters at position {MaxLength}");
        }

        var depth = 0;
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
            }
            else if (c is '(' or '[' && ++depth > MaxNesting)
            {
                return At(text, i, $"Parentheses and brackets are nested deeper than {MaxNesting} levels");
            }
            else if (c is ')' or ']')
            {
                depth--;
            }
        }
        return string.IsNullOrWhiteSpace(text) ? At(text, text.Length, "Expected an expression") : null;
    }

    private static Expression? Deepest(Expression expression, int depth)
    {
        if (depth > MaxDepth)
        {
            return expression;
        }

        IEnumerable<Expression> children = expression switch
        {
            FunctionExpression f => f.Arguments,
            ComparisonExpression c => [c.Left, c.Right],
            InExpression i => [i.Value],
            NotExpression n => [n.Operand],
            LogicalExpression l => l.Operands,
            _ => [],
        };
        return children.Select(child => Deepest(child, depth + 1)).FirstOrDefault(found => found is not null);
    }

    /// <summary>Points past white space so that "Expected ')'" names the character that is there instead.</summary>
    private static ExpressionError At(string text, int offset, string message)
    {
        offset = Math.Clamp(offset, 0, text.Length);
        while (offset < text.Length && char.IsWhiteSpace(text[offset]))
        {
            offset++;
        }
        return new ExpressionError(offset, $"{message} at position {offset}");
    }

    private static string Snippet(string text, int offset) => text.Substring(offset, Math.Min(10, text.Length - offset));

    private static Parser<Expression> BuildGrammar()
    {
        var expression = Deferred<Expression>();
        var start = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        var part = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");

        var stringLiteral = Terms.String(StringLiteralQuotes.Double)
            .Then((_, at, _, s) => new LiteralExpression(s.ToString()) { Position = at });
        var badString = Terms.Char('"')
            .Then<LiteralExpression>((_, at, _, _) => throw new ParseException("Unterminated string or invalid escape", new TextPosition(at, 0, 0)));
        var number = Terms.Number<double>(NumberOptions.Float)
            .Then((_, at, _, d) => new LiteralExpression(d) { Position = at });
        var literal = OneOf(
            stringLiteral,
            badString,
            number,
            Terms.Keyword("true").Then((_, at, _, _) => new LiteralExpression(true) { Position = at }),
            Terms.Keyword("false").Then((_, at, _, _) => new LiteralExpression(false) { Position = at }),
            Terms.Keyword("null").Then((_, at, _, _) => new LiteralExpression(null) { Position = at }));

        var segments = Terms.Identifier(start, part)
            .And(ZeroOrMany(Literals.Char('.').SkipAnd(Literals.Identifier(start, part).ElseError("Expected a name after '.'"))));
        // "()" is tried first: an argument, once started, must be a value, and that error must not fire on "now()".
        var arguments = Terms.Char('(').SkipAnd(OneOf(
            Terms.Char(')').Then<IReadOnlyList<Expression>>(_ => []),
            Separated(Terms.Char(','), expression).AndSkip(Terms.Char(')').ElseError("Expected ')' or ','"))));
        var pathOrCall = segments.And(ZeroOrOne(arguments))
            .Then((_, at, _, parsed) => PathOrCall(parsed.Item1, parsed.Item2, parsed.Item3 is null ? [] : [parsed.Item3], at));

        var parenthesized = Between(Terms.Char('('), expression, Terms.Char(')').ElseError("Expected ')'"));
        var operand = OneOf(literal.Then(l => (Expression)l), pathOrCall, parenthesized)
            .ElseError("Expected a value (a path, a literal, a function call or '(')");

        var list = Terms.Char('[')
            .SkipAnd(ZeroOrOne(Separated(Terms.Char(','), literal)))
            .AndSkip(Terms.Char(']').ElseError("Expected ']'"))
            .Then(items => items ?? (IReadOnlyList<LiteralExpression>)[]);
        var inList = list.ElseError("Expected a list '[...]' after 'in'");

        var comparisonOperator = OneOf(
            Terms.Text("=="), Terms.Text("!="), Terms.Text("<="), Terms.Text(">="), Terms.Text("="), Terms.Text("<"), Terms.Text(">"));
        var tail = OneOf(
            comparisonOperator.And(operand).Then<Func<Expression, Expression>>(t =>
                left => new ComparisonExpression(ToOperator(t.Item1), left, t.Item2) { Position = left.Position }),
            Terms.Keyword("in").SkipAnd(inList).Then<Func<Expression, Expression>>(items =>
                left => new InExpression(left, items, false) { Position = left.Position }),
            Terms.Keyword("not").SkipAnd(Terms.Keyword("in").ElseError("Expected 'in' after 'not'")).SkipAnd(inList)
                .Then<Func<Expression, Expression>>(items => left => new InExpression(left, items, true) { Position = left.Position }));
        var comparison = operand.And(ZeroOrOne(tail))
            .Then(t => t.Item2 is null ? t.Item1 : t.Item2(t.Item1));

        // Unary reads a chain of "not" in a loop: no recursion however many there are.
        var negation = Parsers.Unary(comparison, (Terms.Keyword("not"), e => new NotExpression(e) { Position = e.Position }));
        var conjunction = Separated(Terms.Keyword("and"), negation).Then(operands => Flatten(operands, isAnd: true));
        var disjunction = Separated(Terms.Keyword("or"), conjunction).Then(operands => Flatten(operands, isAnd: false));
        expression.Parser = disjunction;
        return expression;
    }

    private static Expression Flatten(IReadOnlyList<Expression> operands, bool isAnd) =>
        operands.Count == 1 ? operands[0] : new LogicalExpression(isAnd, operands) { Position = operands[0].Position };

    private static ComparisonOperator ToOperator(string symbol) => symbol switch
    {
        "=" or "==" => ComparisonOperator.Equal,
        "!=" => ComparisonOperator.NotEqual,
        "<" => ComparisonOperator.Less,
        "<=" => ComparisonOperator.LessOrEqual,
        ">" => ComparisonOperator.Greater,
        _ => ComparisonOperator.GreaterOrEqual,
    };

    private static Expression PathOrCall(TextSpan first, IReadOnlyList<TextSpan> rest, IReadOnlyList<IReadOnlyList<Expression>> call, int at)
    {
        var name = first.ToString();
        var path = string.Join('.', [name, .. rest.Select(s => s.ToString())]);
        if (call.Count == 0)
        {
            if (_keywords.Contains(name))
            {
                throw new ParseException($"'{name}' is a keyword, expected a value", new TextPosition(at, 0, 0));
            }
            return new PathExpression(path) { Position = at };
        }

        if (rest.Count > 0 || !Functions.TryGetValue(name, out var arity))
        {
            throw new ParseException($"Unknown function '{path}' (known: {string.Join(", ", Functions.Keys)})", new TextPosition(at, 0, 0));
        }

        var arguments = call[0];
        if (arguments.Count != arity)
        {
            throw new ParseException($"Function '{name}' takes {arity} argument{(arity == 1 ? "" : "s")}, not {arguments.Count}", new TextPosition(at, 0, 0));
        }
        if (name == "exists" && arguments[0] is not PathExpression)
        {
            throw new ParseException("exists() takes a path", new TextPosition(arguments[0].Position, 0, 0));
        }
        return new FunctionExpression(name, arguments) { Position = at };
    }
}
