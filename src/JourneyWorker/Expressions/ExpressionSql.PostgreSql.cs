using System.Globalization;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace JourneyWorker.Expressions;

public static partial class ExpressionSql
{
    /// <summary>
    /// PostgreSQL: a path is read where it is used (<c>#&gt;</c> for its jsonb value, NULL when missing, <c>#&gt;&gt;</c>
    /// for its text), so that AND, OR and CASE skip the reads they do not reach; only in a rule with many numeric
    /// comparisons do the paths compared as numbers share a sub-select (see <see cref="Condition"/>). Path parameters are
    /// <c>text[]</c> (string arrays) for <c>#&gt;</c>; strings order by their bytes under <c>COLLATE "C"</c>, whatever the
    /// database's collation. The SQL holds no braces: EF's <c>SqlQueryRaw</c> reads its text as a format string.
    /// <para>Read Audience evaluates the rule once per profile it reads (four per profile it admits in the benchmark), so
    /// its cost per row is the server's main cost there: a path's equality with strings or booleans is one jsonb comparison
    /// (<c>v IN ('"Atlanta"'::jsonb, …)</c>) with no type checks, the double is computed only where a comparison needs it,
    /// by a plain cast unless the number is long enough to leave the double's range (the bounds for those are parameters,
    /// not repeated literals), and a short rule has no sub-select (each is an executor node per row).</para>
    /// </summary>
    private sealed partial class PostgreSqlBuilder(string column, bool jsonbColumn, DateTimeOffset now) : Builder(now)
    {
        private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

        /// <summary>
        /// Below this many characters a decimal in the numeric form is within the double's normal range (under 10^299,
        /// and nonzero ones over 10^-298), so PostgreSQL's cast and the evaluator's double.Parse both round it correctly
        /// and neither overflows: only longer ones need the guards of <see cref="Number"/>.
        /// </summary>
        private const int PlainCastLength = 300;

        /// <summary>
        /// The integer digits from which a decimal rounds to infinity: halfway between double.MaxValue and 2^1024. The
        /// evaluator (double.Parse) then has ±infinity, where PostgreSQL's float8 input raises "out of range".
        /// </summary>
        private static readonly string InfinityFrom = (BigInteger.Pow(2, 1024) - BigInteger.Pow(2, 970)).ToString();

        /// <summary>
        /// The fraction digits of 2^-1075, half the smallest double: a decimal up to it rounds to zero (ties to even), where
        /// PostgreSQL raises "out of range" again. It ends in 5, so it has no trailing zeros to confuse a digit-wise comparison.
        /// </summary>
        private static readonly string ZeroUpTo = BigInteger.Pow(5, 1075).ToString().PadLeft(1075, '0');

        private readonly Dictionary<string, int> _paths = new(StringComparer.Ordinal);
        private readonly List<string> _segments = [];

        /// <summary>Kept as the raw characters (jsonb reads them all); only quotes, backslashes and control characters are escaped.</summary>
        private static readonly JsonSerializerOptions JsonLiteral = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        protected override string True => "true";

        protected override string False => "false";

        /// <summary>
        /// Up to this many uses of a double (two per numeric comparison with a path: as a number and as a numeric string),
        /// each is written out where it is used, its path read there (~1.5 KB of SQL each, which AND/OR skip when they
        /// can); past it, the paths compared as numbers share one sub-select (below).
        /// </summary>
        private const int InlineDoubles = 8;

        /// <summary>
        /// Every path is read where it is used, so that AND, OR and CASE skip the reads they do not reach, except in a rule
        /// with more doubles than <see cref="InlineDoubles"/>: there the paths compared as numbers are read once per row in a
        /// sub-select (<c>OFFSET 0</c> keeps the planner from inlining them into every reference), as jsonb and text, with
        /// their doubles a level above from those columns. Written over the path reads themselves, the doubles of a rule of
        /// hundreds of numeric paths made an expression so large that PostgreSQL's JIT took minutes optimizing it (and the
        /// SQL passed <see cref="MaxSqlLength"/>); a sub-select per numeric comparison made JIT take as long, so they share one.
        /// </summary>
        public override string Condition(Operand root)
        {
            var condition = $"COALESCE({root.Bool}, false)";
            var doubles = Placeholders().Matches(condition).Where(m => m.Groups[1].Value == "d").ToList();
            var numeric = doubles.Count > InlineDoubles ? [.. doubles.Select(Index).Distinct().Order()] : new List<int>();
            (string, string)? bounds = doubles.Count > 0 ? (Add(InfinityFrom), Add(ZeroUpTo)) : null;
            condition = Placeholders().Replace(condition, m => (m.Groups[1].Value, Index(m)) switch
            {
                (var kind, var i) when numeric.Contains(i) => $"{kind}{i}",
                ("v", var i) => Read(i),
                ("t", var i) => Text(i),
                (_, var i) => Number(Read(i), Text(i), bounds!.Value),
            });
            if (numeric.Count > 0)
            {
                var paths = numeric.Select(i => $"{Read(i)} AS v{i}, {Text(i)} AS t{i}");
                var numbers = numeric.Select(i => $"{Number($"v{i}", $"t{i}", bounds!.Value)} AS d{i}");
                var values = $"SELECT rule_paths.*, {string.Join(", ", numbers)} FROM (SELECT {string.Join(", ", paths)} OFFSET 0) AS rule_paths OFFSET 0";
                condition = $"(SELECT {condition} FROM ({values}) AS rule_values)";
            }

            // A text column is parsed once per row, in a sub-select below every path read.
            return jsonbColumn ? $"({condition})" : $"(SELECT {condition} FROM (SELECT ({column})::jsonb AS j OFFSET 0) AS rule_document)";
        }

        private string Read(int i) => $"({Document} #> {_segments[i]})";

        private string Text(int i) => $"({Document} #>> {_segments[i]})";

        private string Document => jsonbColumn ? column : "j";

        private static int Index(Match m) => int.Parse(m.Groups[2].ValueSpan, CultureInfo.InvariantCulture);

        /// <summary>
        /// A path equals a boolean or a non-numeric string exactly when its jsonb value equals that value's jsonb (a number
        /// or numeric string may equal a number, null is a type test): one path read and comparison, no type checks.
        /// </summary>
        protected override (string? Condition, List<Operand> Others) EqualsAny(Operand value, List<Operand> items)
        {
            if (value.PathIndex is not { } i)
            {
                return (null, items);
            }

            var direct = items.Where(item => item.Constant is bool || item.Constant is string s && ExpressionEvaluator.NumericString(s) is null).ToList();
            if (direct.Count == 0)
            {
                return (null, items);
            }

            var literals = direct.Select(item => item.Constant is bool b
                ? (b ? "'true'::jsonb" : "'false'::jsonb")
                : $"CAST({Add(JsonSerializer.Serialize((string)item.Constant!, JsonLiteral))} AS jsonb)");
            return ($"COALESCE(«v{i}» IN ({string.Join(", ", literals)}), false)", [.. items.Except(direct)]);
        }

        protected override Operand Path(string path)
        {
            if (!_paths.TryGetValue(path, out var i))
            {
                i = _paths[path] = _paths.Count;
                _segments.Add(Add(path.Split('.')));
            }

            // Placeholders, resolved by Condition: «d{i}» puts the path in the numeric sub-select, else it is read inline.
            var type = $"jsonb_typeof(«v{i}»)";
            return new Operand(
                $"(CASE WHEN {type} = 'number' THEN «d{i}» END)",
                $"(CASE WHEN {type} = 'string' THEN «d{i}» END)",
                $"(CASE WHEN {type} = 'string' THEN «t{i}» END)",
                $"(CASE WHEN {type} = 'boolean' THEN «v{i}» = 'true'::jsonb END)",
                $"(COALESCE({type}, 'null') = 'null')",
                PathIndex: i);
        }

        [GeneratedRegex("«([vtd])([0-9]+)»")]
        private static partial Regex Placeholders();

        /// <summary>
        /// The double a JSON number or numeric string (<c>-?[0-9]+(\.[0-9]+)?</c>, the twin of
        /// <see cref="ExpressionEvaluator.NumericString"/>) rounds to, else NULL. jsonb prints numbers in that plain form
        /// (never an exponent), so a JSON number short enough is cast straight away. The branches run in order, so the cast
        /// only ever sees a decimal that fits a double.
        /// </summary>
        private static string Number(string value, string text, (string InfinityFrom, string ZeroUpTo) bounds)
        {
            var integerDigits = $"ltrim(split_part(ltrim({text}, '-'), '.', 1), '0')";
            return $"(CASE WHEN jsonb_typeof({value}) = 'number' AND length({text}) < {PlainCastLength} THEN CAST({text} AS double precision) " +
                $"WHEN jsonb_typeof({value}) IN ('number', 'string') IS NOT TRUE THEN NULL " +
                $"WHEN {text} COLLATE \"C\" !~ '^-?[0-9]+([.][0-9]+)?$' THEN NULL " +
                $"WHEN length({text}) < {PlainCastLength} THEN CAST({text} AS double precision) " +
                $"WHEN length({integerDigits}) > {InfinityFrom.Length} OR length({integerDigits}) = {InfinityFrom.Length} AND {integerDigits} COLLATE \"C\" >= CAST({bounds.InfinityFrom} AS text) " +
                $"THEN CAST(CASE WHEN {text} LIKE '-%' THEN '-Infinity' ELSE 'Infinity' END AS double precision) " +
                $"WHEN {integerDigits} = '' AND rtrim(split_part({text}, '.', 2), '0') COLLATE \"C\" <= CAST({bounds.ZeroUpTo} AS text) THEN CAST(0 AS double precision) " +
                $"ELSE CAST({text} AS double precision) END)";
        }

        protected override string Ordered(string str) => $"{str} COLLATE \"C\"";

        protected override string Contains(Operand s, Operand x) =>
            s.Str == NoValue || x.Str == NoValue ? False : $"COALESCE(strpos({s.Str}, {x.Str}) > 0, false)";

        protected override string StartsWith(Operand s, Operand x) =>
            s.Str == NoValue || x.Str == NoValue ? False : $"COALESCE(starts_with({s.Str}, {x.Str}), false)";

        /// <summary>PostgreSQL's lower() folds every script; the evaluator folds ASCII only. Digits are unchanged, so NumStr carries over.</summary>
        protected override Operand Lower(Operand s) => s.Str == NoValue
            ? new Operand(NoValue, NoValue, NoValue, NoValue, True)
            : new Operand(NoValue, s.NumStr, $"translate({s.Str}, '{Upper}', '{Upper.ToLowerInvariant()}')", NoValue, $"({s.Str} IS NULL)");

        /// <summary>The evaluator's year(), with only the branches the operand can take: PostgreSQL cannot type a bare NULL in abs() or a regex.</summary>
        protected override Operand Year(Operand x)
        {
            List<string> branches = [];
            if (x.Num != NoValue)
            {
                branches.Add($"WHEN {x.Num} IS NOT NULL THEN (CASE WHEN abs({x.Num}) < 1e15 AND {x.Num} = trunc({x.Num}) THEN {x.Num} END)");
            }
            if (x.NumStr != NoValue)
            {
                branches.Add($"WHEN {x.NumStr} IS NOT NULL AND strpos({x.Str}, '.') = 0 THEN {x.NumStr}");
            }
            if (x.Str != NoValue)
            {
                branches.Add($"WHEN {x.Str} COLLATE \"C\" ~ '^[0-9][0-9][0-9][0-9]-' THEN CAST(substr({x.Str}, 1, 4) AS double precision)");
            }
            if (branches.Count == 0)
            {
                return new Operand(NoValue, NoValue, NoValue, NoValue, True);
            }

            var year = $"(CASE {string.Join(' ', branches)} END)";
            return new Operand(year, NoValue, NoValue, NoValue, $"({year} IS NULL)");
        }
    }
}
