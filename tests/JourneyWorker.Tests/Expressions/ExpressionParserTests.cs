using JourneyWorker.Expressions;

namespace JourneyWorker.Tests.Expressions;

public sealed class ExpressionParserTests
{
    [Theory]
    [InlineData("a = 1 or b = 2 and c = 3", "((a = 1) or ((b = 2) and (c = 3)))")]
    [InlineData("a = 1 and b = 2 or c = 3", "(((a = 1) and (b = 2)) or (c = 3))")]
    [InlineData("not a = 1 and b", "((not (a = 1)) and b)")]
    [InlineData("not (a = 1 or b)", "(not ((a = 1) or b))")]
    [InlineData("not not vip", "(not (not vip))")]
    [InlineData("(a or b) and c", "((a or b) and c)")]
    [InlineData("a == \"x\" and b != -2.5", "((a = \"x\") and (b != -2.5))")]
    [InlineData("x.y.z <= 3 or x >= 4 or x < 5 or x > 6", "((x.y.z <= 3) or (x >= 4) or (x < 5) or (x > 6))")]
    [InlineData("city in [\"A\", 1, true, null] and city not in []", "((city in [\"A\", 1, true, null]) and (city not in []))")]
    [InlineData("exists(a.b) and contains(lower(s), \"x\") and startsWith(s, \"y\") and year(d) < year(now())",
        "(exists(a.b) and contains(lower(s), \"x\") and startsWith(s, \"y\") and (year(d) < year(now())))")]
    [InlineData("s = \"q\\\"uote\\\\ \\n\"", "(s = \"q\\\"uote\\\\ \\n\")")]
    [InlineData("android = notable", "(android = notable)")]
    public void Parses_with_precedence(string text, string expected)
    {
        Assert.Equal(expected, ExpressionParser.Parse(text).ToString());
    }

    [Fact]
    public void Seed_rule_parses_and_lists_its_paths()
    {
        var e = ExpressionParser.Parse("homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980 or exists(homeAddress.city)");
        Assert.Equal(["homeAddress.city", "person.birthYear"], Expression.Paths(e));
        Assert.Equal(["events.purchase.productName", "profile.x"],
            Expression.Paths(ExpressionParser.Parse("contains(events.purchase.productName, profile.x)")));
    }

    [Theory]
    [InlineData("a in [1, 2", 10, "Expected ']'")]
    [InlineData("(a = 1", 6, "Expected ')'")]
    [InlineData("a = ", 4, "Expected a value")]
    [InlineData("a = 1 b", 6, "Unexpected 'b'")]
    [InlineData("a = 1 = 2", 6, "Unexpected '= 2'")]
    [InlineData("a = \"open", 4, "Unterminated string")]
    [InlineData("foo(a)", 0, "Unknown function 'foo'")]
    [InlineData("a.b(c)", 0, "Unknown function 'a.b'")]
    [InlineData("contains(a)", 0, "takes 2 arguments, not 1")]
    [InlineData("exists(\"a\")", 7, "exists() takes a path")]
    [InlineData("a not b", 6, "Expected 'in' after 'not'")]
    [InlineData("a in 1", 5, "Expected a list")]
    [InlineData("a. b = 1", 3, "Expected a name after '.'")]
    [InlineData("x = and", 4, "'and' is a keyword")]
    [InlineData("a = 1 and", 9, "Expected a value")]
    [InlineData("   ", 3, "Expected an expression")]
    [InlineData("$a = 1", 0, "Expected a value")]
    public void Errors_name_their_position(string text, int position, string message)
    {
        Assert.False(ExpressionParser.TryParse(text, out var expression, out var error));
        Assert.Null(expression);
        Assert.NotNull(error);
        Assert.Equal(position, error.Position);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.EndsWith($"at position {position}", error.Message, StringComparison.Ordinal);
        var thrown = Assert.Throws<ExpressionParseException>(() => ExpressionParser.Parse(text));
        Assert.Equal(position, thrown.Position);
    }

    [Fact]
    public void Nesting_and_length_are_bounded()
    {
        var deepParens = new string('(', 10_000) + "a" + new string(')', 10_000);
        Assert.False(ExpressionParser.TryParse(deepParens[..3999], out _, out var error));
        Assert.Equal(ExpressionParser.MaxNesting, error!.Position);
        Assert.Contains("nested deeper", error.Message, StringComparison.Ordinal);

        Assert.False(ExpressionParser.TryParse(deepParens, out _, out error));
        Assert.Contains("longer than 4000", error!.Message, StringComparison.Ordinal);

        var okParens = new string('(', ExpressionParser.MaxNesting) + "a = 1" + new string(')', ExpressionParser.MaxNesting);
        Assert.True(ExpressionParser.TryParse(okParens, out _, out _));

        var manyNots = string.Concat(Enumerable.Repeat("not ", 900)) + "a";
        Assert.False(ExpressionParser.TryParse(manyNots, out _, out error));
        Assert.Contains($"deeper than {ExpressionParser.MaxDepth}", error!.Message, StringComparison.Ordinal);

        var brackets = "a in " + new string('[', 40);
        Assert.False(ExpressionParser.TryParse(brackets, out _, out error));
        Assert.Contains("nested deeper", error!.Message, StringComparison.Ordinal);

        // A long flat chain is fine: and/or chains are stored flat, not as a deep tree.
        var chain = string.Join(" or ", Enumerable.Range(0, 400).Select(i => $"a{i}"));
        var parsed = Assert.IsType<LogicalExpression>(ExpressionParser.Parse(chain));
        Assert.Equal(400, parsed.Operands.Count);
    }

    [Fact]
    public void Parentheses_inside_strings_do_not_count_as_nesting()
    {
        var text = "a = \"" + new string('(', 100) + "\"";
        Assert.True(ExpressionParser.TryParse(text, out _, out var error), error?.Message);
    }
}
