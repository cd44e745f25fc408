using System.Numerics;

namespace JourneyWorker.Expressions;

public static partial class ExpressionSql
{
    /// <summary>
    /// PostgreSQL: the JSON text is cast to jsonb once per row and each path is read once, in a sub-select whose
    /// <c>OFFSET 0</c> keeps the planner from inlining (and so repeating) them into every reference. Each path gives a
    /// column <c>v{i}</c> (its jsonb value, NULL when missing) and <c>d{i}</c> (the double it spells, when it is a number
    /// or a numeric string). Path parameters are <c>text[]</c> (string arrays) for <c>#&gt;</c>; strings order by their
    /// bytes under <c>COLLATE "C"</c>, whatever the database's collation. The SQL holds no braces: EF's <c>SqlQueryRaw</c>
    /// reads its text as a format string.
    /// </summary>
    private sealed class PostgreSqlBuilder(string column, DateTimeOffset now) : Builder(now)
    {
        private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

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
        private readonly List<string> _columns = [];

        protected override string True => "true";

        protected override string False => "false";

        public override string Condition(Operand root)
        {
            var condition = $"COALESCE({root.Bool}, false)";
            if (_columns.Count == 0)
            {
                return $"({condition})";
            }

            var document = $"SELECT ({column})::jsonb AS j, '{InfinityFrom}'::text AS infinity_from, '{ZeroUpTo}'::text AS zero_up_to OFFSET 0";
            return $"(SELECT {condition} FROM (SELECT {string.Join(", ", _columns)} FROM ({document}) AS rule_document OFFSET 0) AS rule_values)";
        }

        protected override Operand Path(string path)
        {
            if (!_paths.TryGetValue(path, out var i))
            {
                i = _paths[path] = _paths.Count;
                var segments = Add(path.Split('.'));
                _columns.Add($"j #> {segments} AS v{i}, {Number($"j #> {segments}", $"(j #>> {segments})")} AS d{i}");
            }

            var type = $"jsonb_typeof(v{i})";
            return new Operand(
                $"(CASE WHEN {type} = 'number' THEN d{i} END)",
                $"(CASE WHEN {type} = 'string' THEN d{i} END)",
                $"(CASE WHEN {type} = 'string' THEN v{i} #>> ARRAY[]::text[] END)",
                $"(CASE WHEN {type} = 'boolean' THEN v{i} = 'true'::jsonb END)",
                $"(COALESCE({type}, 'null') = 'null')");
        }

        /// <summary>
        /// The double a JSON number or numeric string (<c>-?[0-9]+(\.[0-9]+)?</c>, the twin of
        /// <see cref="ExpressionEvaluator.NumericString"/>) rounds to, else NULL. jsonb prints numbers in that plain form too.
        /// The branches run in order, so the cast only ever sees a decimal that fits a double.
        /// </summary>
        private static string Number(string value, string text)
        {
            var integerDigits = $"ltrim(split_part(ltrim({text}, '-'), '.', 1), '0')";
            return $"(CASE WHEN jsonb_typeof({value}) IN ('number', 'string') IS NOT TRUE THEN NULL " +
                $"WHEN {text} COLLATE \"C\" !~ '^-?[0-9]+([.][0-9]+)?$' THEN NULL " +
                $"WHEN length({integerDigits}) > {InfinityFrom.Length} OR length({integerDigits}) = {InfinityFrom.Length} AND {integerDigits} COLLATE \"C\" >= infinity_from " +
                $"THEN CAST(CASE WHEN {text} LIKE '-%' THEN '-Infinity' ELSE 'Infinity' END AS double precision) " +
                $"WHEN {integerDigits} = '' AND rtrim(split_part({text}, '.', 2), '0') COLLATE \"C\" <= zero_up_to THEN CAST(0 AS double precision) " +
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
