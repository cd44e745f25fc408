using System.Text.RegularExpressions;

namespace JourneyWorker.Expressions;

/// <summary>
/// Translates an expression into a WHERE fragment over a JSON text column, with exactly the semantics of
/// <see cref="ExpressionEvaluator"/> (documented there), for SQLite or PostgreSQL. Every literal and every JSON path is
/// a parameter; nothing a client wrote is spliced into the SQL text.
/// <para>Each operand becomes a set of typed projections, each NULL unless the value has that type: <c>Num</c> (a JSON
/// number, as a double), <c>NumStr</c> (a numeric string, as a double), <c>Str</c>, <c>Bool</c>, and <c>IsNull</c> (never
/// NULL). A comparison is a COALESCE over the pairs of projections that may meet, ending in false, so every predicate is
/// true or false and NOT never meets SQL's unknown. The dialects differ only in how a path is read and in a few functions
/// (ExpressionSql.Sqlite.cs, ExpressionSql.PostgreSql.cs).</para>
/// </summary>
public static partial class ExpressionSql
{
    /// <summary>Nested functions multiply the SQL text; past this the rule is refused rather than sent to the database.</summary>
    public const int MaxSqlLength = 1_000_000;

    /// <summary>A projection the operand does not have. Compare leaves out pairs that hold it; functions test for it.</summary>
    private const string NoValue = "NULL";

    /// <summary>
    /// The condition <paramref name="e"/> makes on the JSON of <paramref name="jsonColumn"/>. On PostgreSQL,
    /// <paramref name="jsonbColumn"/> says the column is jsonb already (Profiles."Document"), so each path is read from it
    /// directly; otherwise it is JSON text, parsed once per row in a sub-select of its own.
    /// </summary>
    public static SqlFragment ToSql(Expression e, string jsonColumn, DateTimeOffset now, SqlDialect dialect = SqlDialect.Sqlite, bool jsonbColumn = false)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!ColumnName().IsMatch(jsonColumn))
        {
            throw new ArgumentException("The column must be a plain (optionally table-qualified) identifier.", nameof(jsonColumn));
        }

        var column = string.Join('.', jsonColumn.Split('.').Select(p => $"\"{p}\""));
        Builder builder = dialect switch
        {
            SqlDialect.Sqlite => new SqliteBuilder(column, now),
            SqlDialect.PostgreSql => new PostgreSqlBuilder(column, jsonbColumn, now),
            _ => throw new ArgumentOutOfRangeException(nameof(dialect), dialect, null),
        };
        var root = builder.Translate(e);
        var condition = builder.Condition(root);
        if (condition.Length > MaxSqlLength)
        {
            // PostgreSQL writes each path read out where it is used, so the whole can outgrow what every operand stayed under.
            throw new ExpressionParseException(new ExpressionError(e.Position, $"The expression is too complex to run in SQL at position {e.Position}"));
        }
        return new SqlFragment(condition, builder.Parameters);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$")]
    private static partial Regex ColumnName();

    /// <summary>
    /// <paramref name="PathIndex"/> is set on a bare path's operand, <paramref name="Constant"/> on a boolean or string
    /// literal's: the pair a dialect may compare directly (<see cref="Builder.EqualsAny"/>).
    /// </summary>
    private sealed record Operand(
        string Num, string NumStr, string Str, string Bool, string IsNull, bool IsNullLiteral = false, int? PathIndex = null, object? Constant = null)
    {
        public int Length => Num.Length + NumStr.Length + Str.Length + Bool.Length + IsNull.Length;
    }

    /// <summary>The translation both dialects share; a dialect supplies its boolean constants, paths and string functions.</summary>
    private abstract class Builder(DateTimeOffset now)
    {
        public List<object?> Parameters { get; } = [];

        protected abstract string True { get; }

        protected abstract string False { get; }

        /// <summary>The whole fragment: true exactly when the root is the boolean true.</summary>
        public abstract string Condition(Operand root);

        protected abstract Operand Path(string path);

        protected abstract string Contains(Operand s, Operand x);

        protected abstract string StartsWith(Operand s, Operand x);

        protected abstract Operand Lower(Operand s);

        protected abstract Operand Year(Operand x);

        /// <summary>A string operand as it must stand in an ordering comparison (SQLite's default collation already orders by bytes).</summary>
        protected virtual string Ordered(string str) => str;

        public Operand Translate(Expression e)
        {
            var operand = e switch
            {
                LiteralExpression l => Literal(l.Value),
                PathExpression p => Path(p.Path),
                FunctionExpression f => Function(f),
                ComparisonExpression c => Boolean(Compare(c.Operator, Translate(c.Left), Translate(c.Right))),
                InExpression i => Boolean(In(Translate(i.Value), i)),
                NotExpression n => Boolean($"(NOT {Truthy(Translate(n.Operand))})"),
                LogicalExpression l => Boolean(Balanced([.. l.Operands.Select(o => Truthy(Translate(o)))], l.IsAnd ? "AND" : "OR")),
                _ => throw new NotSupportedException(e.GetType().Name),
            };
            if (operand.Length > MaxSqlLength)
            {
                throw new ExpressionParseException(new ExpressionError(e.Position, $"The expression is too complex to run in SQL at position {e.Position}"));
            }
            return operand;
        }

        protected string Add(object? value)
        {
            Parameters.Add(value);
            return $"@p{Parameters.Count - 1}";
        }

        protected Operand Boolean(string condition) => new(NoValue, NoValue, NoValue, condition, False);

        /// <summary>
        /// A condition true exactly when <paramref name="value"/> equals one of the <paramref name="items"/> that the dialect
        /// can compare directly, and the items it cannot (to be compared as usual); by default none can.
        /// </summary>
        protected virtual (string? Condition, List<Operand> Others) EqualsAny(Operand value, List<Operand> items) => (null, items);

        protected string Truthy(Operand o) => $"COALESCE({o.Bool}, {False})";

        private Operand Literal(object? value) => value switch
        {
            null => new Operand(NoValue, NoValue, NoValue, NoValue, True, IsNullLiteral: true),
            bool b => new Operand(NoValue, NoValue, NoValue, b ? True : False, False, Constant: b),
            double d => new Operand(Add(d), NoValue, NoValue, NoValue, False),
            string s => new Operand(NoValue, ExpressionEvaluator.NumericString(s) is { } n ? Add(n) : NoValue, Add(s), NoValue, False, Constant: s),
            _ => throw new NotSupportedException(value.GetType().Name),
        };

        private Operand Function(FunctionExpression f)
        {
            var args = f.Arguments.Select(Translate).ToArray();
            return f.Name switch
            {
                "exists" => Boolean($"(NOT {args[0].IsNull})"),
                "contains" => Boolean(Contains(args[0], args[1])),
                "startsWith" => Boolean(StartsWith(args[0], args[1])),
                "lower" => Lower(args[0]),
                "year" => Year(args[0]),
                "now" => new Operand(NoValue, NoValue, Add(ExpressionEvaluator.FormatNow(now)), NoValue, False),
                _ => throw new NotSupportedException(f.Name),
            };
        }

        private string Compare(ComparisonOperator op, Operand left, Operand right)
        {
            if (op is ComparisonOperator.Equal or ComparisonOperator.NotEqual && (left.IsNullLiteral || right.IsNullLiteral))
            {
                var isNull = left.IsNullLiteral ? right.IsNull : left.IsNull;
                return op == ComparisonOperator.Equal ? isNull : $"(NOT {isNull})";
            }

            if (op == ComparisonOperator.NotEqual)
            {
                return $"(NOT {left.IsNull} AND NOT {right.IsNull} AND NOT {Compare(ComparisonOperator.Equal, left, right)})";
            }

            if (op == ComparisonOperator.Equal && Direct(left, right) is { } direct)
            {
                return direct;
            }

            var symbol = ComparisonExpression.Symbol(op);
            List<(string L, string R)> pairs = [(left.Num, right.Num), (left.Num, right.NumStr), (left.NumStr, right.Num)];
            if (left.Str != NoValue && right.Str != NoValue)
            {
                pairs.Add((Ordered(left.Str), right.Str));
            }
            if (op == ComparisonOperator.Equal)
            {
                pairs.Add((left.Bool, right.Bool));
            }

            var terms = pairs.Where(p => p.L != NoValue && p.R != NoValue).Select(p => $"({p.L} {symbol} {p.R})").ToList();
            return terms.Count == 0 ? False : $"COALESCE({string.Join(", ", terms)}, {False})";
        }

        private string? Direct(Operand a, Operand b) =>
            EqualsAny(a, [b]) is (string ab, []) ? ab : EqualsAny(b, [a]) is (string ba, []) ? ba : null;

        private string In(Operand value, InExpression i)
        {
            var (direct, items) = EqualsAny(value, [.. i.Items.Select(item => Literal(item.Value))]);
            List<string> terms = direct is null ? [] : [direct];
            if (i.Negated)
            {
                return Balanced([$"(NOT {value.IsNull})", .. terms.Select(t => $"(NOT {t})"), .. items.Select(item => Compare(ComparisonOperator.NotEqual, value, item))], "AND");
            }
            return Balanced([.. terms, .. items.Select(item => Compare(ComparisonOperator.Equal, value, item))], "OR");
        }

        /// <summary>Joins as a balanced tree: databases limit expression depth, and a flat chain of 500 terms is 500 deep.</summary>
        private string Balanced(IReadOnlyList<string> terms, string op) => terms.Count switch
        {
            0 => op == "AND" ? True : False,
            1 => terms[0],
            _ => $"({Balanced([.. terms.Take(terms.Count / 2)], op)} {op} {Balanced([.. terms.Skip(terms.Count / 2)], op)})",
        };
    }
}
