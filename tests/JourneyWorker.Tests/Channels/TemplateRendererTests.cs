using System.Diagnostics;
using System.Text.Json.Nodes;
using JourneyWorker.Channels.Templates;

namespace JourneyWorker.Tests.Channels;

public sealed class TemplateRendererTests
{
    private readonly TemplateRenderer _renderer = new(TimeProvider.System);

    private static TemplateModel Model(string firstName = "Ada") => new(
        new JsonObject
        {
            ["id"] = 42,
            ["person"] = new JsonObject { ["name"] = new JsonObject { ["firstName"] = firstName } },
            ["tags"] = new JsonArray("gold", "early"),
        },
        new JsonObject { ["purchase"] = new JsonObject { ["productName"] = "Tea & Biscuits", ["amount"] = 12.5 } },
        new JsonObject { ["name"] = "Multi-channel", ["id"] = "j-1", ["version"] = 3 });

    [Fact]
    public void Dotted_profile_journey_and_event_access()
    {
        var text = _renderer.Render(
            "Hi {{ profile.person.name.firstName }} ({{ profile.id }}), {{ journey.name }} v{{ journey.version }}: {{ events.purchase.productName }} {{ events.purchase.amount }} {{ profile.tags[1] }}",
            Model(), html: false);
        Assert.Equal("Hi Ada (42), Multi-channel v3: Tea & Biscuits 12.5 early", text);
    }

    [Theory]
    [InlineData("{{ events.purchase.amount }}", "12.5")]
    [InlineData("{{ events.purchase.amount | times: 2 }}", "25.0")]
    [InlineData("{{ profile.id }}", "42")]
    [InlineData("{{ true }}", "true")]
    [InlineData("{{ profile.nothing }}", "null")]
    [InlineData("{{ profile.person.name.firstName }}", "\"Ada\"")]
    [InlineData("{{ events.purchase.productName | upcase }}", "\"TEA & BISCUITS\"")]
    [InlineData(" {{ profile.id }}", "\" 42\"")]
    [InlineData("{{ profile.id }}{{ profile.id }}", "\"4242\"")]
    [InlineData("{{ profile.tags }}", "\"goldearly\"")]
    [InlineData("<b>{{ events.purchase.productName }}</b>", "\"<b>Tea & Biscuits</b>\"")]
    public void A_value_keeps_the_type_of_a_single_output_and_is_unescaped_text_otherwise(string template, string json)
    {
        var value = _renderer.RenderValue(template, Model());
        Assert.Equal(json, value?.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) ?? "null");
    }

    [Fact]
    public void Html_parts_escape_values_but_not_the_template_markup()
    {
        var html = _renderer.Render("<p>Hello {{ profile.person.name.firstName }}</p>", Model("<script>alert(1)</script>"), html: true);
        Assert.Equal("<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;</p>", html);
        Assert.Equal("<p>Tea &amp; Biscuits</p>", _renderer.Render("<p>{{ events.purchase.productName }}</p>", Model(), html: true));
    }

    [Fact]
    public void Plain_parts_are_not_escaped_and_keep_non_ascii_text()
    {
        Assert.Equal("Hi <b>Zoë", _renderer.Render("Hi {{ profile.person.name.firstName }}", Model("<b>Zoë"), html: false));
        Assert.Equal("Zoë", _renderer.Render("{{ profile.person.name.firstName }}", Model("Zoë"), html: true));
    }

    [Fact]
    public void Missing_values_render_empty_and_default_filter_applies()
    {
        Assert.Equal("Hi !", _renderer.Render("Hi {{ profile.person.name.nickname }}{{ events.signup.code }}!", Model(), html: false));
        Assert.Equal("Hi friend", _renderer.Render("Hi {{ profile.person.name.nickname | default: \"friend\" }}", Model(), html: false));
        Assert.Equal("Hi Ada", _renderer.Render("Hi {{ profile.person.name.firstName | default: \"friend\" }}", Model(), html: false));
    }

    [Fact]
    public void Profile_data_is_never_evaluated_as_a_template()
    {
        Assert.Equal("Hi {{ 7*7 }} {% if true %}x{% endif %}", _renderer.Render("Hi {{ profile.person.name.firstName }}", Model("{{ 7*7 }} {% if true %}x{% endif %}"), html: false));
    }

    [Fact]
    public void Conditions_and_loops_over_data_work()
    {
        var text = _renderer.Render("{% if profile.tags contains 'gold' %}VIP {% endif %}{% for t in profile.tags %}[{{ t }}]{% endfor %}", Model(), html: false);
        Assert.Equal("VIP [gold][early]", text);
    }

    [Fact]
    public void Check_reports_syntax_errors_and_accepts_good_templates()
    {
        Assert.True(_renderer.Check("Hello {{ profile.person.name.firstName | default: \"friend...\" }}").Ok);
        var bad = _renderer.Check("Hello {{ profile.name ");
        Assert.False(bad.Ok);
        Assert.Contains("syntax", bad.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<TemplateRenderException>(() => _renderer.Render("Hello {{ profile.name ", Model(), html: false));
    }

    [Theory]
    [InlineData("{% assign s = 'x' %}{{ s }}")]
    [InlineData("{% capture s %}x{% endcapture %}")]
    [InlineData("{% include 'other' %}")]
    [InlineData("{% for i in (1..100000000) %}x{% endfor %}")]
    [InlineData("{{ (1..100000000) | join: ',' }}")]
    public void Unbounded_constructs_are_refused_up_front(string template)
    {
        Assert.False(_renderer.Check(template).Ok);
    }

    [Fact]
    public void Oversized_templates_are_refused()
    {
        var check = _renderer.Check(new string('x', TemplateRenderer.MaxTemplateLength + 1));
        Assert.False(check.Ok);
        Assert.Contains("characters", check.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostile_loops_stop_at_the_step_limit()
    {
        var items = new JsonArray();
        for (var i = 0; i < 200; i++)
        {
            items.Add(i);
        }
        var model = new TemplateModel(new JsonObject { ["items"] = items }, [], []);
        var template = "{% for a in profile.items %}{% for b in profile.items %}{% for c in profile.items %}{{ c }}{% endfor %}{% endfor %}{% endfor %}";
        Assert.True(_renderer.Check(template).Ok);

        var clock = Stopwatch.StartNew();
        var ex = Assert.Throws<TemplateRenderException>(() => _renderer.Render(template, model, html: false));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Contains("rendered", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_is_bounded()
    {
        var big = new string('x', 64 * 1024);
        var items = new JsonArray();
        for (var i = 0; i < 64; i++)
        {
            items.Add(i);
        }
        var model = new TemplateModel(new JsonObject { ["big"] = big, ["items"] = items }, [], []);
        Assert.Throws<TemplateRenderException>(() => _renderer.Render("{% for a in profile.items %}{{ profile.big }}{% endfor %}", model, html: false));
    }
}
