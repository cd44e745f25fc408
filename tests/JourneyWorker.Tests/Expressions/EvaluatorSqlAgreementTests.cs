using System.Text.Json.Nodes;
using JourneyWorker.Expressions;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Tests.Expressions;

/// <summary>The in-memory evaluator and the SQL translation must select the same profiles for every rule.</summary>
public sealed class EvaluatorSqlAgreementTests
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
    ];

    internal static readonly Lazy<(string File, Dictionary<long, JsonObject> Profiles)> Data = new(CreateDatabase);

    [Theory]
    [MemberData(nameof(Rules))]
    public void Sql_selects_the_profiles_the_evaluator_accepts(string rule)
    {
        TestProvider.SqliteOnly("checks the SQLite translation of rules on a SQLite file of its own");
        var (file, profiles) = Data.Value;
        var expression = ExpressionParser.Parse(rule);
        var expected = profiles.Where(p => ExpressionEvaluator.IsTrue(expression, p.Value, Now)).Select(p => p.Key).ToHashSet();

        var fragment = ExpressionSql.ToSql(expression, "Attributes", Now);
        using var connection = new SqliteConnection($"Data Source={file}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT Id FROM Profiles WHERE {fragment.Sql}";
        command.Parameters.AddRange(fragment.ToSqliteParameters());
        var actual = new HashSet<long>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                actual.Add(reader.GetInt64(0));
            }
        }

        var onlyEvaluator = expected.Except(actual).Take(3).Select(id => profiles[id].ToJsonString());
        var onlySql = actual.Except(expected).Take(3).Select(id => profiles[id].ToJsonString());
        Assert.True(expected.SetEquals(actual),
            $"{rule}: evaluator {expected.Count}, SQL {actual.Count}.\nOnly evaluator: {string.Join("\n", onlyEvaluator)}\nOnly SQL: {string.Join("\n", onlySql)}");
    }

    [Fact]
    public void The_rules_discriminate()
    {
        // Agreement on rules that select nothing (or everything) would prove little.
        var (_, profiles) = Data.Value;
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
        var fragment = ExpressionSql.ToSql(ExpressionParser.Parse("name = \"x'); DROP TABLE Profiles; --\" and a.b > 3"), "Attributes", Now);
        Assert.DoesNotContain("DROP", fragment.Sql, StringComparison.Ordinal);
        Assert.DoesNotContain("a.b", fragment.Sql, StringComparison.Ordinal);
        Assert.Contains("x'); DROP TABLE Profiles; --", fragment.Parameters);
        Assert.Contains("$.\"a\".\"b\"", fragment.Parameters);
        Assert.Throws<ArgumentException>(() => ExpressionSql.ToSql(ExpressionParser.Parse("a"), "Attributes; DROP", Now));
    }

    [Fact]
    public void The_longest_rules_still_run_in_sqlite()
    {
        TestProvider.SqliteOnly("checks SQLite's expression depth limit on a SQLite file of its own");
        // 4,000 characters of flat "or" and a 1,000-item list: SQLite's expression depth limit must not be reached.
        var (file, _) = Data.Value;
        var chain = Longest("", i => $"a{i} = {i}", " or ", "");
        var list = Longest("score in [", i => i % 2 == 0 ? $"{i}" : $"\"{i}\"", ",", "]");
        Assert.True(chain.Length > 3900 && list.Length > 3900);
        foreach (var rule in new[] { chain, list })
        {
            var fragment = ExpressionSql.ToSql(ExpressionParser.Parse(rule), "Attributes", Now);
            using var connection = new SqliteConnection($"Data Source={file}");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT COUNT(*) FROM Profiles WHERE {fragment.Sql}";
            command.Parameters.AddRange(fragment.ToSqliteParameters());
            Assert.IsType<long>(command.ExecuteScalar());
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

    [Fact]
    public void Nested_functions_that_would_blow_up_the_sql_are_refused()
    {
        var rule = "year(year(year(year(year(a))))) = 1";
        var e = Assert.Throws<ExpressionParseException>(() => ExpressionSql.ToSql(ExpressionParser.Parse(rule), "Attributes", Now));
        Assert.Contains("too complex", e.Message, StringComparison.Ordinal);
    }

    private static (string, Dictionary<long, JsonObject>) CreateDatabase()
    {
        var random = new Random(20260302);
        var profiles = new Dictionary<long, JsonObject>();
        for (long id = 1; id <= 3000; id++)
        {
            profiles[id] = RandomProfile(random);
        }

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
