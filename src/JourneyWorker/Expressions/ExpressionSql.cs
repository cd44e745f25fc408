using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Expressions;

/// <summary>
/// A SQLite boolean expression. Parameter <c>Parameters[i]</c> binds to the name <c>@p{i}</c> (named parameters,
/// usable with <see cref="SqliteCommand"/> and with EF's <c>FromSqlRaw</c>/<c>SqlQueryRaw</c> via <see cref="ToSqliteParameters"/>).
/// </summary>
public sealed record SqlFragment(string Sql, IReadOnlyList<object?> Parameters)
{
    public SqliteParameter[] ToSqliteParameters() =>
        [.. Parameters.Select((value, i) => new SqliteParameter($"@p{i}", value ?? DBNull.Value))];
}

/// <summary>
/// Translates an expression into a SQLite WHERE fragment over a JSON text column, with exactly the semantics of
/// <see cref="ExpressionEvaluator"/> (documented there). Every literal and every JSON path is a parameter; nothing a
/// client wrote is spliced into the SQL text.
/// <para>Each operand becomes a set of typed projections, each NULL unless the value has that type: <c>Num</c> (a JSON
/// number, as REAL), <c>NumStr</c> (a numeric string, as REAL), <c>Str</c>, <c>Bool</c> (1/0), and <c>IsNull</c> (0/1,
/// never NULL). A comparison is a COALESCE over the pairs of projections that may meet, ending in 0, so every predicate
/// is 0 or 1 and NOT never meets SQL's unknown.</para>
/// </summary>
public static partial class ExpressionSql
{
    /// <summary>Nested functions multiply the SQL text; past this the rule is refused rather than sent to SQLite.</summary>
    public const int MaxSqlLength = 1_000_000;

    private const string NoValue = "NULL";

    public static SqlFragment ToSql(Expression e, string jsonColumn, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!ColumnName().IsMatch(jsonColumn))
        {
            throw new ArgumentException("The column must be a plain (optionally table-qualified) identifier.", nameof(jsonColumn));
        }

        var builder = new Builder(string.Join('.', jsonColumn.Split('.').Select(p => $"\"{p}\"")), now);
        var root = builder.Translate(e);
        return new SqlFragment($"(COALESCE({root.Bool}, 0) = 1)", builder.Parameters);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$")]
    private static partial Regex ColumnName();

    private sealed record Operand(string Num, string NumStr, string Str, string Bool, string IsNull, bool IsNullLiteral = false)
    {
        public static Operand Boolean(string condition) => new(NoValue, NoValue, NoValue, condition, "0");

        public int Length => Num.Length + NumStr.Length + Str.Length + Bool.Length + IsNull.Length;
    }

    private sealed class Builder(string column, DateTimeOffset now)
    {
        private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);

        public List<object?> Parameters { get; } = [];

        public Operand Translate(Expression e)
        {
            var operand = e switch
            {
                LiteralExpression l => Literal(l.Value),
                PathExpression p => Path(p.Path),
                FunctionExpression f => Function(f),
                ComparisonExpression c => Operand.Boolean(Compare(c.Operator, Translate(c.Left), Translate(c.Right))),
                InExpression i => Operand.Boolean(In(Translate(i.Value), i)),
                NotExpression n => Operand.Boolean($"(NOT {Truthy(Translate(n.Operand))})"),
                LogicalExpression l => Operand.Boolean(Balanced([.. l.Operands.Select(o => Truthy(Translate(o)))], l.IsAnd ? "AND" : "OR")),
                _ => throw new NotSupportedException(e.GetType().Name),
            };
            if (operand.Length > MaxSqlLength)
            {
                throw new ExpressionParseException(new ExpressionError(e.Position, $"The expression is too complex to run in SQL at position {e.Position}"));
            }
            return operand;
        }

        private string Add(object? value)
        {
            Parameters.Add(value);
            return $"@p{Parameters.Count - 1}";
        }

        private Operand Literal(object? value) => value switch
        {
            null => new Operand(NoValue, NoValue, NoValue, NoValue, "1", IsNullLiteral: true),
            bool b => new Operand(NoValue, NoValue, NoValue, b ? "1" : "0", "0"),
            double d => new Operand(Add(d), NoValue, NoValue, NoValue, "0"),
            string s => new Operand(NoValue, ExpressionEvaluator.NumericString(s) is { } n ? Add(n) : NoValue, Add(s), NoValue, "0"),
            _ => throw new NotSupportedException(value.GetType().Name),
        };

        private Operand Path(string path)
        {
            if (!_paths.TryGetValue(path, out var parameter))
            {
                // Segments are identifiers (the parser guarantees it); quoting them keeps the JSON path unambiguous anyway.
                parameter = _paths[path] = Add("$" + string.Concat(path.Split('.').Select(s => $".\"{s}\"")));
            }

            var type = $"json_type({column}, {parameter})";
            var value = $"json_extract({column}, {parameter})";
            var str = $"(CASE WHEN {type} = 'text' THEN {value} END)";
            return new Operand(
                $"(CASE WHEN {type} IN ('integer', 'real') THEN CAST({value} AS REAL) END)",
                NumericString(str),
                str,
                $"(CASE {type} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)",
                $"(COALESCE({type}, 'null') = 'null')");
        }

        /// <summary>The SQL twin of <see cref="ExpressionEvaluator.NumericString"/>: <c>-?[0-9]+(\.[0-9]+)?</c> as REAL, else NULL.</summary>
        private static string NumericString(string s) =>
            $"(CASE WHEN ({s} GLOB '[0-9]*' OR {s} GLOB '-[0-9]*') AND substr({s}, 2) NOT GLOB '*[^0-9.]*' " +
            $"AND {s} NOT GLOB '*.*.*' AND {s} NOT GLOB '*.' THEN CAST({s} AS REAL) END)";

        private Operand Function(FunctionExpression f)
        {
            var args = f.Arguments.Select(Translate).ToArray();
            switch (f.Name)
            {
                case "exists":
                    return Operand.Boolean($"(NOT {args[0].IsNull})");
                case "contains":
                    return Operand.Boolean($"COALESCE(instr({args[0].Str}, {args[1].Str}) > 0, 0)");
                case "startsWith":
                    return Operand.Boolean($"COALESCE(substr({args[0].Str}, 1, length({args[1].Str})) = {args[1].Str}, 0)");
                case "lower":
                    // SQLite's lower() folds ASCII only; the evaluator does the same. Digits are unchanged, so NumStr carries over.
                    var lowered = $"lower({args[0].Str})";
                    return new Operand(NoValue, args[0].NumStr, lowered, NoValue, $"({args[0].Str} IS NULL)");
                case "year":
                    var x = args[0];
                    var year = $"(CASE WHEN {x.Num} IS NOT NULL THEN (CASE WHEN abs({x.Num}) < 1e15 AND {x.Num} = CAST(CAST({x.Num} AS INTEGER) AS REAL) THEN {x.Num} END) " +
                        $"WHEN {x.NumStr} IS NOT NULL AND instr({x.Str}, '.') = 0 THEN {x.NumStr} " +
                        $"WHEN {x.Str} GLOB '[0-9][0-9][0-9][0-9]-*' THEN CAST(substr({x.Str}, 1, 4) AS REAL) END)";
                    return new Operand(year, NoValue, NoValue, NoValue, $"({year} IS NULL)");
                case "now":
                    return new Operand(NoValue, NoValue, Add(ExpressionEvaluator.FormatNow(now)), NoValue, "0");
                default:
                    throw new NotSupportedException(f.Name);
            }
        }

        private static string Truthy(Operand o) => $"COALESCE({o.Bool}, 0)";

        private static string Compare(ComparisonOperator op, Operand left, Operand right)
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

            var symbol = ComparisonExpression.Symbol(op);
            List<(string L, string R)> pairs = [(left.Num, right.Num), (left.Num, right.NumStr), (left.NumStr, right.Num), (left.Str, right.Str)];
            if (op == ComparisonOperator.Equal)
            {
                pairs.Add((left.Bool, right.Bool));
            }

            var terms = pairs.Where(p => p.L != NoValue && p.R != NoValue).Select(p => $"({p.L} {symbol} {p.R})").ToList();
            return terms.Count == 0 ? "0" : $"COALESCE({string.Join(", ", terms)}, 0)";
        }

        private string In(Operand value, InExpression i)
        {
            var items = i.Items.Select(item => Literal(item.Value)).ToList();
            if (i.Negated)
            {
                return Balanced([$"(NOT {value.IsNull})", .. items.Select(item => Compare(ComparisonOperator.NotEqual, value, item))], "AND");
            }
            return items.Count == 0 ? "0" : Balanced([.. items.Select(item => Compare(ComparisonOperator.Equal, value, item))], "OR");
        }

        /// <summary>Joins as a balanced tree: SQLite limits expression depth, and a flat chain of 500 terms is 500 deep.</summary>
        private static string Balanced(IReadOnlyList<string> terms, string op) => terms.Count switch
        {
            0 => op == "AND" ? "1" : "0",
            1 => terms[0],
            _ => $"({Balanced([.. terms.Take(terms.Count / 2)], op)} {op} {Balanced([.. terms.Skip(terms.Count / 2)], op)})",
        };
    }
}
