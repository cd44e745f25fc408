using System.Data.Common;
using System.Text.Json.Nodes;
using JourneyWorker.Expressions;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Tests.Expressions;

/// <summary>
/// The in-memory evaluator and the SQL translation must select the same profiles for every rule, in SQLite and in
/// PostgreSQL (see <see cref="PostgresProfiles"/> for how to give the tests a server).
/// </summary>
public sealed class EvaluatorSqlAgreementTests(PostgresProfiles postgres)
{
    internal static readonly DateTimeOffset Now = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public static readonly TheoryData<string> Rules =
    [
        "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980",
        "person.birthYear >= 1985", "person.birthYear < 1970", "person.birthYear = 1985", "person.birthYear != 1985",
        "person.birthYear = \"1985\"", "person.birthYear = null", "person.birthYear != null", "person.birthYear <= \"1990\"",
        "homeAddress.city = \"Atlanta\"", "lower(homeAddress.city) = \"atlanta\"", "homeAddress.city > \"M\"",
        "homeAddress.city not in [\"Atlanta\", \"Boston\"]", "not (homeAddress.city in [\"Atlanta\", \"Boston\"])",
        "exists(homeAddress.city)", "not exists(person.birthYear)", "exists(homeAddress)",
        "contains(email, \"@example\")", "startsWith(lower(name), \"a\")", "contains(name, \"é\")", "name < \"b\"",
        "vip", "not vip", "vip = true", "vip != false", "vip = \"true\"", "vip = 1",
        "year(signupDate) = 2019", "year(signupDate) > 2018 or vip", "signupDate < now()", "year(person.birthYear) = 1985",
        "year(now()) = 2026", "score > -1.5 and score <= 10", "score = \"-3.5\"", "score in [1, 2.5, \"3\", null, true]",
        "score not in [1, 2.5]", "homeAddress = null", "homeAddress != 1", "tags = tags", "contains(tags, \"a\")",
        "person.birthYear = person.birthYear", "person.birthYear < score", "lower(name) = lower(email)",
        "not (vip or score > 3) and (exists(email) or homeAddress.city = null)", "null = null", "score != null and score != \"x\"",
        "person.birthYear in []", "person.birthYear not in []", "lower(name) = \"émile\"", "lower(homeAddress.city) < \"b\"", "year(score) = 3", "\"1985\" = person.birthYear",
        "score > 1000000", "score < -1000000", "score = 0", "score > 0 and score < 0.000001", "score = 5e-324",
        // PostgreSQL compares a path with strings and booleans as jsonb, and reads numeric paths in one sub-select past a few.
        "name in [\"Émile\", \"😀 smile\", \"alice\"]", "name = \"Émile\"", "name not in [\"alice\", \"😀 smile\", true, 1]",
        "vip in [true, \"true\"]", "vip not in [true, 1]", "vip != true", "score in [\"x\", \"3\", true, null]", "tags = \"abc\"",
        "score > 1 or score < -1 or person.birthYear > 1990 or person.birthYear < 1960 or year(signupDate) = 2019",
        "homeAddress.city = \"Atlanta\" and (score > 1 or score < -1 or person.birthYear > 1990 or person.birthYear < 1960 or name = \"bob\")",
    ];

    internal static readonly Lazy<Dictionary<long, JsonObject>> Profiles = new(GenerateProfiles);

    internal static readonly Lazy<(string File, Dictionary<long, JsonObject> Profiles)> Data = new(CreateDatabase);

    [Theory]
    [MemberData(nameof(Rules))]
    public void Sql_selects_the_profiles_the_evaluator_accepts(string rule)
    {
        TestProvider.SqliteOnly("checks the SQLite translation of rules on a SQLite file of its own");
        using var connection = OpenSqlite();
        AssertAgreement(rule, connection, SqlDialect.Sqlite);
    }

    [Theory]
    [MemberData(nameof(Rules))]
    public void PostgreSql_selects_the_profiles_the_evaluator_accepts(string rule)
    {
        using var connection = postgres.OpenOrSkip();
        AssertAgreement(rule, connection, SqlDialect.PostgreSql);
        // Read Audience and previews read the jsonb copy, where paths are read without the text's parse.
        AssertAgreement(rule, connection, SqlDialect.PostgreSql, jsonb: true);
    }

    private static void AssertAgreement(string rule, DbConnection connection, SqlDialect dialect, bool jsonb = false)
    {
        var profiles = Profiles.Value;
        var expression = ExpressionParser.Parse(rule);
        var expected = Accepted(expression);
        var fragment = ExpressionSql.ToSql(expression, jsonb ? "Document" : "Attributes", Now, dialect, jsonb);
        // EF's SqlQueryRaw takes its SQL as a format string, where braces are placeholders.
        Assert.DoesNotContain("{", fragment.Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("}", fragment.Sql, StringComparison.Ordinal);
        var actual = Select(connection, fragment);

        var onlyEvaluator = expected.Except(actual).Take(3).Select(id => profiles[id].ToJsonString());
        var onlySql = actual.Except(expected).Take(3).Select(id => profiles[id].ToJsonString());
        Assert.True(expected.SetEquals(actual),
            $"{rule}: evaluator {expected.Count}, {dialect}{(jsonb ? " (jsonb)" : "")} {actual.Count}.\nOnly evaluator: {string.Join("\n", onlyEvaluator)}\nOnly SQL: {string.Join("\n", onlySql)}");
    }

    /// <summary>The ids of the profiles the evaluator accepts.</summary>
    internal static HashSet<long> Accepted(Expression expression) =>
        Profiles.Value.Where(p => ExpressionEvaluator.IsTrue(expression, p.Value, Now)).Select(p => p.Key).ToHashSet();

    /// <summary>The ids of the profiles the fragment selects, on either database.</summary>
    internal static HashSet<long> Select(DbConnection connection, SqlFragment fragment)
    {
        var dialect = connection is SqliteConnection ? SqlDialect.Sqlite : SqlDialect.PostgreSql;
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT \"Id\" FROM \"Profiles\" WHERE {fragment.Sql}";
        command.Parameters.AddRange(fragment.ToParameters(dialect));
        var ids = new HashSet<long>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    internal static SqliteConnection OpenSqlite()
    {
        var connection = new SqliteConnection($"Data Source={Data.Value.File}");
        connection.Open();
        return connection;
    }

    [Fact]
    public void The_rules_discriminate()
    {
        // Agreement on rules that select nothing (or everything) would prove little.
        var profiles = Profiles.Value;
        var discriminating = Rules.Count(rule =>
        {
            var e = ExpressionParser.Parse(rule.Data);
            var n = profiles.Values.Count(p => ExpressionEvaluator.IsTrue(e, p, Now));
            return n > 0 && n < profiles.Count;
        });
        Assert.True(discriminating >= Rules.Count - 6, $"only {discriminating} of {Rules.Count} rules split the profiles");
    }

    [Fact]
    public void Literals_and_paths_are_parameters_not_sql_text()
    {
        var rule = ExpressionParser.Parse("name = \"x'); DROP TABLE Profiles; --\" and a.b > 3");
        foreach (var dialect in Enum.GetValues<SqlDialect>())
        {
            var fragment = ExpressionSql.ToSql(rule, "Attributes", Now, dialect);
            Assert.DoesNotContain("DROP", fragment.Sql, StringComparison.Ordinal);
            Assert.DoesNotContain("a.b", fragment.Sql, StringComparison.Ordinal);
            Assert.Contains("x'); DROP TABLE Profiles; --", fragment.Parameters);
            Assert.Throws<ArgumentException>(() => ExpressionSql.ToSql(ExpressionParser.Parse("a"), "Attributes; DROP", Now, dialect));
        }
        Assert.Contains("$.\"a\".\"b\"", ExpressionSql.ToSql(rule, "Attributes", Now).Parameters);
        Assert.Contains(ExpressionSql.ToSql(rule, "Attributes", Now, SqlDialect.PostgreSql).Parameters, p => p is string[] path && path.SequenceEqual(["a", "b"]));
    }

    [Fact]
    public void PostgreSql_reads_the_paths_of_a_short_rule_where_it_uses_them()
    {
        // The seed rule runs once per profile Read Audience looks at: a sub-select there is an executor node per row, and
        // a jsonb literal saves the type checks.
        var fragment = ExpressionSql.ToSql(ExpressionParser.Parse(Rules.First().Data), "Document", Now, SqlDialect.PostgreSql, jsonbColumn: true);
        Assert.DoesNotContain("SELECT", fragment.Sql, StringComparison.Ordinal);
        Assert.Contains("AS jsonb)", fragment.Sql, StringComparison.Ordinal);
        Assert.Contains("\"Seattle\"", fragment.Parameters);
        Assert.DoesNotContain("«", fragment.Sql, StringComparison.Ordinal);
    }

    [Fact]
    public void The_longest_rules_still_run_in_sqlite()
    {
        TestProvider.SqliteOnly("checks the SQLite translation of rules on a SQLite file of its own");
        using var connection = OpenSqlite();
        AssertLongestRulesRun(connection, SqlDialect.Sqlite);
    }

    [Fact]
    public void The_longest_rules_still_run_in_postgresql()
    {
        using var connection = postgres.OpenOrSkip();
        AssertLongestRulesRun(connection, SqlDialect.PostgreSql);
        AssertLongestRulesRun(connection, SqlDialect.PostgreSql, jsonb: true);
    }

    /// <summary>
    /// 4,000 characters of flat "or", of distinct bare paths, and a 1,000-item list: no expression depth limit (SQLite's),
    /// column limit or stack depth (PostgreSQL's) may be reached, and the answer must still be the evaluator's.
    /// </summary>
    private static void AssertLongestRulesRun(DbConnection connection, SqlDialect dialect, bool jsonb = false)
    {
        var chain = Longest("", i => $"a{i} = {i}", " or ", "");
        var paths = Longest("", i => $"{(char)('a' + (i % 26))}{i / 26}", " or ", "");
        var list = Longest("score in [", i => i % 2 == 0 ? $"{i}" : $"\"{i}\"", ",", "]");
        Assert.True(chain.Length > 3900 && paths.Length > 3900 && list.Length > 3900);
        foreach (var rule in new[] { chain, paths, list })
        {
            var expression = ExpressionParser.Parse(rule);
            Assert.Equal(Accepted(expression), Select(connection, ExpressionSql.ToSql(expression, jsonb ? "Document" : "Attributes", Now, dialect, jsonb)));
        }
    }

    private static string Longest(string prefix, Func<int, string> term, string separator, string suffix)
    {
        var terms = new List<string>();
        while (prefix.Length + suffix.Length + string.Join(separator, [.. terms, term(terms.Count)]).Length <= ExpressionParser.MaxLength)
        {
            terms.Add(term(terms.Count));
        }
        return prefix + string.Join(separator, terms) + suffix;
    }

    [Theory]
    [InlineData("year(year(year(year(year(a))))) = 1", SqlDialect.Sqlite)]
    [InlineData("year(year(year(year(year(year(year(a))))))) = 1", SqlDialect.PostgreSql)]
    public void Nested_functions_that_would_blow_up_the_sql_are_refused(string rule, SqlDialect dialect)
    {
        var e = Assert.Throws<ExpressionParseException>(() => ExpressionSql.ToSql(ExpressionParser.Parse(rule), "Attributes", Now, dialect));
        Assert.Contains("too complex", e.Message, StringComparison.Ordinal);
    }

    private static Dictionary<long, JsonObject> GenerateProfiles()
    {
        var random = new Random(20260302);
        var profiles = new Dictionary<long, JsonObject>();
        for (long id = 1; id <= 3000; id++)
        {
            profiles[id] = RandomProfile(random);
        }
        foreach (var edge in EdgeProfiles())
        {
            profiles[profiles.Count + 1] = edge;
        }
        return profiles;
    }

    /// <summary>
    /// Numbers past the ends of a double and near its rounding ties, as JSON numbers and as numeric strings: the evaluator
    /// (double.Parse) rounds them to infinity, zero or the nearest double, and SQL must neither differ nor fail.
    /// </summary>
    private static IEnumerable<JsonObject> EdgeProfiles() => EdgeProfiles(
        ["1" + new string('0', 400), "1" + new string('9', 308), "-0", "0.0", "1985.0000000000000001", HalfOfSmallestDouble, "0." + new string('0', 400) + "1"],
        ["1e400", "-1E+400", "1.7976931348623157e308", "1.797693134862315807937289714053e308", "1.7976931348623158079e308", "1e-400", "-1e-400", "5e-324", "3e-324", "0.1e-322"]);

    /// <summary>2^-1075 written out: a decimal up to it rounds to zero, one a hair above to the smallest double.</summary>
    private static readonly string HalfOfSmallestDouble = "0." + new string('0', 323) + System.Numerics.BigInteger.Pow(5, 1075);

    private static IEnumerable<JsonObject> EdgeProfiles(string[] decimals, string[] exponents)
    {
        foreach (var number in decimals.Concat(exponents))
        {
            yield return (JsonObject)JsonNode.Parse($$"""{"score": {{number}}}""")!;
        }
        foreach (var text in decimals.Append("00012.50").Append("-0000.000"))
        {
            yield return new JsonObject { ["score"] = text, ["person"] = new JsonObject { ["birthYear"] = text } };
        }
    }

    [Fact]
    public void PostgreSql_rounds_a_hair_above_half_the_smallest_double_as_the_evaluator_does()
    {
        // SQLite's own text-to-REAL conversion rounds this to zero (so it is not among the shared profiles); PostgreSQL's
        // float8 input rounds correctly, as double.Parse does, once the translation has kept it from underflowing.
        using var connection = postgres.OpenOrSkip();
        var documents = EdgeProfiles([HalfOfSmallestDouble + "1", "-" + HalfOfSmallestDouble + "1", HalfOfSmallestDouble], []).ToList();
        foreach (var rule in new[] { "score = 5e-324", "score = -5e-324", "score = 0", "score > 0", "person.birthYear < 0" })
        {
            var expression = ExpressionParser.Parse(rule);
            var fragment = ExpressionSql.ToSql(expression, "document.Attributes", Now, SqlDialect.PostgreSql);
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT document.\"Id\" FROM unnest(@documents) WITH ORDINALITY AS document(\"Attributes\", \"Id\") WHERE {fragment.Sql}";
            command.Parameters.AddRange(fragment.ToNpgsqlParameters());
            command.Parameters.AddWithValue("documents", documents.Select(d => d.ToJsonString()).ToArray());
            var actual = new HashSet<long>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    actual.Add(reader.GetInt64(0));
                }
            }
            var expected = documents.Select((d, i) => (d, Id: i + 1L)).Where(x => ExpressionEvaluator.IsTrue(expression, x.d, Now)).Select(x => x.Id).ToHashSet();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, actual);
        }
    }

    private static (string, Dictionary<long, JsonObject>) CreateDatabase()
    {
        var profiles = Profiles.Value;
        var file = Path.Combine(Directory.CreateTempSubdirectory("expr-agreement-").FullName, "profiles.db");
        using var connection = new SqliteConnection($"Data Source={file}");
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE Profiles (Id INTEGER PRIMARY KEY, Attributes TEXT NOT NULL)";
            create.ExecuteNonQuery();
        }
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO Profiles (Id, Attributes) VALUES (@id, @a)";
        var idParameter = insert.Parameters.Add("@id", SqliteType.Integer);
        var attributes = insert.Parameters.Add("@a", SqliteType.Text);
        foreach (var (id, profile) in profiles)
        {
            idParameter.Value = id;
            attributes.Value = profile.ToJsonString();
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
        return (file, profiles);
    }

    private static JsonObject RandomProfile(Random r)
    {
        var profile = new JsonObject();
        void Maybe(string key, Func<JsonNode?> value)
        {
            var roll = r.Next(10);
            if (roll == 0)
            {
                return;
            }
            profile[key] = roll == 1 ? null : value();
        }

        string[] cities = ["Atlanta", "atlanta", "ATLANTA", "San Francisco", "Seattle", "Séattle", "Boston", "Denver", "Zürich", "", "Ångström"];
        Maybe("homeAddress", () => r.Next(8) switch
        {
            0 => JsonValue.Create(5),
            1 => new JsonArray("Atlanta"),
            2 => new JsonObject(),
            _ => new JsonObject { ["city"] = r.Next(12) switch { 0 => null, 1 => JsonValue.Create(7), 2 => JsonValue.Create(true), _ => cities[r.Next(cities.Length)] } },
        });
        Maybe("person", () => r.Next(6) == 0 ? JsonValue.Create("n/a") : new JsonObject
        {
            ["birthYear"] = r.Next(10) switch
            {
                0 => null,
                1 => JsonValue.Create(r.Next(1950, 2006).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                2 => JsonValue.Create("1985"),
                3 => JsonValue.Create(r.Next(2) == 0 ? "1985.0" : "19x5"),
                4 => JsonValue.Create(1985.5),
                5 => JsonValue.Create(false),
                6 => JsonValue.Create(1985),
                _ => JsonValue.Create(r.Next(1950, 2006)),
            },
        });
        string[] names = ["alice", "Alice", "ALICE", "bob", "Bob", "élodie", "Émile", "andré", "b", "😀 smile", "a"];
        Maybe("name", () => names[r.Next(names.Length)]);
        Maybe("email", () => r.Next(4) == 0 ? JsonValue.Create(42) : JsonValue.Create($"{names[r.Next(names.Length)]}@{(r.Next(2) == 0 ? "example.com" : "mail.test")}"));
        Maybe("vip", () => r.Next(5) switch { 0 => JsonValue.Create("true"), 1 => JsonValue.Create(1), 2 => JsonValue.Create(true), _ => JsonValue.Create(false) });
        Maybe("score", () => r.Next(9) switch
        {
            0 => JsonValue.Create("-3.5"),
            1 => JsonValue.Create("3"),
            2 => JsonValue.Create("x"),
            3 => JsonValue.Create(true),
            4 => JsonValue.Create(2.5),
            5 => JsonValue.Create("1e3"),
            _ => JsonValue.Create(Math.Round(r.NextDouble() * 30 - 10, 1)),
        });
        Maybe("signupDate", () => r.Next(6) switch
        {
            0 => JsonValue.Create("garbage"),
            1 => JsonValue.Create(2019),
            2 => JsonValue.Create("2019-05-03"),
            3 => JsonValue.Create("2027-01-01T00:00:00.000Z"),
            _ => JsonValue.Create(new DateTime(2015, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(r.Next(0, 4000)).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture)),
        });
        Maybe("tags", () => r.Next(3) == 0 ? JsonValue.Create("abc") : new JsonArray("a", "b"));
        return profile;
    }
}
