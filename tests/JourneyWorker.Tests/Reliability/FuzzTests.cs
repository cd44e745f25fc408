using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Expressions;

namespace JourneyWorker.Tests.Reliability;

/// <summary>Random and mutated inputs for the two languages users write: no undocumented exception, no hang.</summary>
public sealed class FuzzTests
{
    private static readonly string[] RuleSeeds =
    [
        "homeAddress.city in [\"Atlanta\", \"San Francisco\", \"Seattle\"] and person.birthYear > 1980",
        "not (a.b = 1 or c != \"x\") and d <= 2.5e3",
        "startsWith(person.name.firstName, \"A\") and exists(pushTokens)",
        "contains(lower(a), \"x\") or length(b) >= 3",
        "purchaseMessage = \"thank you\"",
        "a.b.c = true and d = null and e in []",
    ];

    private static readonly string[] RuleAtoms =
    [
        "a", "b.c", "person.birthYear", "1", "-2", "3.5", "1e309", "\"s\"", "\"\\\"", "\"\\u0000\"", "true", "false", "null",
        "(", ")", "[", "]", ",", ".", "=", "!=", "<", "<=", ">", ">=", "and", "or", "not", "in", "contains(", "startsWith(",
        "lower(", "length(", "exists(", " ", "\t", "\n", "é", "\ud83d\ude00", "\ud800", "'", "\\", "$", "{", "}",
    ];

    private static readonly string[] TemplateSeeds =
    [
        "Hello {{profile.person.name.firstName}}",
        "{% if profile.vip %}VIP{% else %}{{ profile.a | upcase }}{% endif %}",
        "{% for x in profile.list %}{{ x }}, {% endfor %}",
        "{{ events.purchase.productName | default: \"thing\" }} {{ journey.name }}",
        "{% assign n = 3 %}{{ n | plus: 2 }}{{ 'now' | date: '%Y' }}",
    ];

    private static readonly string[] TemplateAtoms =
    [
        "{{", "}}", "{%", "%}", "{{-", "-%}", "if", "else", "endif", "for", "in", "endfor", "assign", "capture", "endcapture",
        "include", "render", "cycle", "raw", "endraw", "comment", "endcomment", "|", "upcase", "append:", "date:", "split:",
        "'", "\"", "profile.a", "profile", "events.x[0]", "(1..100000)", "(1..2)", "=", "==", "<", ">", "and", "or", " ", "\n",
        "x", "1", "-1", "99999999999999999999", "\ud800", "é", ":", ",", ".", "[", "]",
    ];

    [Fact]
    public void Expression_parser_survives_random_and_mutated_rules()
    {
        var random = new Random(20261128);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 4000; i++)
        {
            var text = i % 2 == 0 ? Mutate(random, RuleSeeds[random.Next(RuleSeeds.Length)], RuleAtoms) : Generate(random, RuleAtoms, 60);
            try
            {
                var ok = ExpressionParser.TryParse(text, out var expression, out var error);
                Assert.True(ok ? expression is not null : error is not null, $"inconsistent result for {text}");
            }
            catch (Exception ex)
            {
                Assert.Fail($"TryParse threw {ex.GetType().Name} for {Show(text)}: {ex.Message}");
            }
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {clock.Elapsed}");
    }

    [Fact]
    public void Template_check_and_render_survive_random_and_mutated_templates()
    {
        var renderer = new TemplateRenderer(TimeProvider.System);
        var model = new TemplateModel(
            JsonNode.Parse("""{"a": "x", "vip": true, "list": [1, 2, 3], "person": {"name": {"firstName": "Ann"}}}""")!.AsObject(),
            JsonNode.Parse("""{"purchase": {"productName": "Shoes"}, "x": [1]}""")!.AsObject(),
            JsonNode.Parse("""{"name": "J"}""")!.AsObject());
        var random = new Random(4711);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 3000; i++)
        {
            var text = i % 2 == 0 ? Mutate(random, TemplateSeeds[random.Next(TemplateSeeds.Length)], TemplateAtoms) : Generate(random, TemplateAtoms, 40);
            TemplateCheck check;
            try
            {
                check = renderer.Check(text);
            }
            catch (Exception ex)
            {
                Assert.Fail($"Check threw {ex.GetType().Name} for {Show(text)}: {ex.Message}");
                return;
            }

            try
            {
                renderer.Render(text, model, html: i % 3 == 0);
            }
            catch (TemplateRenderException)
            {
                // Documented: a bad template or an exceeded bound.
            }
            catch (Exception ex)
            {
                Assert.Fail($"Render threw {ex.GetType().Name} (check said {check.Ok}) for {Show(text)}: {ex.Message}");
            }
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {clock.Elapsed}");
    }

    private static string Generate(Random random, string[] atoms, int maxAtoms)
    {
        var builder = new StringBuilder();
        var count = random.Next(1, maxAtoms);
        for (var i = 0; i < count; i++)
        {
            builder.Append(atoms[random.Next(atoms.Length)]);
        }
        return builder.ToString();
    }

    /// <summary>Deletes, duplicates, swaps or inserts a few pieces of a valid input.</summary>
    private static string Mutate(Random random, string seed, string[] atoms)
    {
        var text = seed;
        for (var n = random.Next(1, 5); n > 0 && text.Length > 0; n--)
        {
            var at = random.Next(text.Length);
            var length = Math.Min(text.Length - at, random.Next(1, 8));
            text = random.Next(5) switch
            {
                0 => text.Remove(at, length),
                1 => text.Insert(at, text.Substring(at, length)),
                2 => text.Insert(at, atoms[random.Next(atoms.Length)]),
                3 => text.Insert(at, ((char)random.Next(0, 0x3000)).ToString()),
                _ => string.Concat(Enumerable.Repeat(text, random.Next(2, 4))),
            };
        }
        return text.Length > 4000 ? text[..4000] : text;
    }

    private static string Show(string text) => System.Text.Json.JsonSerializer.Serialize(text.Length > 300 ? text[..300] : text);
}
