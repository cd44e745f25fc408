using System.Data.Common;
using System.Globalization;
using JourneyWorker.Expressions;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Expressions;

/// <summary>Random rules from the whole grammar: they print and re-parse the same, and SQL agrees with the evaluator.</summary>
public sealed class RandomRuleTests(PostgresProfiles postgres)
{
    private static readonly string[] Paths = ["homeAddress.city", "homeAddress", "person.birthYear", "name", "email", "vip", "score", "signupDate", "tags", "missing.path"];
    private static readonly object?[] Literals = [null, true, false, 1985.0, 1980.0, -3.5, 2.5, 3.0, 0.0, "1985", "-3.5", "3", "Atlanta", "atlanta", "a", "b", "", "é", "2019-", "x"];

    [Fact]
    public void Random_rules_round_trip_and_sql_agrees_with_the_evaluator()
    {
        TestProvider.SqliteOnly("checks the SQLite translation of rules on a SQLite file of its own");
        using var connection = EvaluatorSqlAgreementTests.OpenSqlite();
        AssertRandomRulesAgree(connection, SqlDialect.Sqlite);
    }

    [Fact]
    public void Random_rules_agree_with_the_evaluator_in_postgresql()
    {
        using var connection = postgres.OpenOrSkip();
        AssertRandomRulesAgree(connection, SqlDialect.PostgreSql);
    }

    private static void AssertRandomRulesAgree(DbConnection connection, SqlDialect dialect)
    {
        var random = new Random(7);
        var profiles = EvaluatorSqlAgreementTests.Profiles.Value;
        var nonTrivial = 0;
        for (var n = 0; n < 500; n++)
        {
            var text = Condition(random, 3).ToString();
            var parsed = ExpressionParser.Parse(text);
            Assert.Equal(text, parsed.ToString());

            var expected = EvaluatorSqlAgreementTests.Accepted(parsed);
            var actual = EvaluatorSqlAgreementTests.Select(connection, ExpressionSql.ToSql(parsed, "Attributes", EvaluatorSqlAgreementTests.Now, dialect));
            Assert.True(expected.SetEquals(actual), $"{text}: evaluator {expected.Count}, {dialect} {actual.Count}");
            nonTrivial += expected.Count > 0 && expected.Count < profiles.Count ? 1 : 0;
        }
        Assert.True(nonTrivial > 100, $"only {nonTrivial} random rules split the profiles");
    }

    [Fact]
    public void Random_text_never_crashes_the_parser()
    {
        var random = new Random(11);
        string[] tokens = ["a", ".", "b", "(", ")", "[", "]", ",", "\"", "\\", "=", "!", "<", ">", " ", "and", "or", "not", "in", "1", "-", "e", "null", "now", "exists", "\n", "é"];
        for (var n = 0; n < 5000; n++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(1, 30)).Select(_ => tokens[random.Next(tokens.Length)] + (random.Next(3) == 0 ? " " : "")));
            if (ExpressionParser.TryParse(text, out var expression, out var error))
            {
                Assert.Equal(expression!.ToString(), ExpressionParser.Parse(expression.ToString()).ToString());
            }
            else
            {
                Assert.InRange(error!.Position, 0, text.Length);
                Assert.EndsWith($"at position {error.Position.ToString(CultureInfo.InvariantCulture)}", error.Message, StringComparison.Ordinal);
            }
        }
    }

    private static Expression Condition(Random r, int depth) => (depth <= 0 ? r.Next(4) : r.Next(8)) switch
    {
        0 or 1 => new ComparisonExpression((ComparisonOperator)r.Next(6), r.Next(3) == 0 ? Value(r, 2) : Path(r), r.Next(2) == 0 ? Literal(r) : Value(r, 2)),
        2 => new InExpression(Value(r, 1), [.. Enumerable.Range(0, r.Next(4)).Select(_ => Literal(r))], r.Next(2) == 0),
        3 => r.Next(3) switch
        {
            0 => new FunctionExpression("exists", [Path(r)]),
            1 => new FunctionExpression(r.Next(2) == 0 ? "contains" : "startsWith", [Value(r, 1), Value(r, 1)]),
            _ => Path(r),
        },
        4 or 5 => new LogicalExpression(r.Next(2) == 0, [.. Enumerable.Range(0, r.Next(2, 4)).Select(_ => Condition(r, depth - 1))]),
        _ => new NotExpression(Condition(r, depth - 1)),
    };

    private static Expression Value(Random r, int depth) => (depth <= 0 ? r.Next(2) : r.Next(5)) switch
    {
        0 => Path(r),
        1 => Literal(r),
        2 => new FunctionExpression("lower", [Value(r, depth - 1)]),
        3 => new FunctionExpression("year", [r.Next(4) == 0 ? new FunctionExpression("now", []) : Value(r, depth - 1)]),
        _ => Condition(r, 0),
    };

    private static PathExpression Path(Random r) => new(Paths[r.Next(Paths.Length)]);

    private static LiteralExpression Literal(Random r) => new(Literals[r.Next(Literals.Length)]);
}
