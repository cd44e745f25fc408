namespace JourneyWorker.Expressions;

public static partial class ExpressionSql
{
    /// <summary>
    /// SQLite: paths are read with json_type/json_extract on the JSON text, booleans are 1 and 0, and the default BINARY
    /// collation already compares strings by their UTF-8 bytes.
    /// </summary>
    private sealed class SqliteBuilder(string column, DateTimeOffset now) : Builder(now)
    {
        private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);

        protected override string True => "1";

        protected override string False => "0";

        public override string Condition(Operand root) => $"(COALESCE({root.Bool}, 0) = 1)";

        protected override Operand Path(string path)
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

        protected override string Contains(Operand s, Operand x) => $"COALESCE(instr({s.Str}, {x.Str}) > 0, 0)";

        protected override string StartsWith(Operand s, Operand x) => $"COALESCE(substr({s.Str}, 1, length({x.Str})) = {x.Str}, 0)";

        /// <summary>SQLite's lower() folds ASCII only, as the evaluator does. Digits are unchanged, so NumStr carries over.</summary>
        protected override Operand Lower(Operand s) => new(NoValue, s.NumStr, $"lower({s.Str})", NoValue, $"({s.Str} IS NULL)");

        protected override Operand Year(Operand x)
        {
            var year = $"(CASE WHEN {x.Num} IS NOT NULL THEN (CASE WHEN abs({x.Num}) < 1e15 AND {x.Num} = CAST(CAST({x.Num} AS INTEGER) AS REAL) THEN {x.Num} END) " +
                $"WHEN {x.NumStr} IS NOT NULL AND instr({x.Str}, '.') = 0 THEN {x.NumStr} " +
                $"WHEN {x.Str} GLOB '[0-9][0-9][0-9][0-9]-*' THEN CAST(substr({x.Str}, 1, 4) AS REAL) END)";
            return new Operand(year, NoValue, NoValue, NoValue, $"({year} IS NULL)");
        }
    }
}
