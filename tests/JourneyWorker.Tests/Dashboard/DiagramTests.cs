using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using JourneyWorker.Dashboard.Diagram;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Tests.Dashboard;

/// <summary>The journey diagram: a box per node, a labelled arrow per edge, columns by depth, nothing overlapping.</summary>
public sealed partial class DiagramTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public static TheoryData<string> Journeys() => [.. DiagramJourneys.Examples().Concat(DiagramJourneys.EveryNodeType()).Select(j => j.Name)];

    private static JourneyDefinition Journey(string name) =>
        DiagramJourneys.Examples().Concat(DiagramJourneys.EveryNodeType()).Single(j => j.Name == name).Journey;

    [Fact]
    public void The_journeys_tried_include_an_example_and_every_node_type()
    {
        Assert.NotEmpty(DiagramJourneys.Examples());
        var used = DiagramJourneys.Examples().Concat(DiagramJourneys.EveryNodeType())
            .SelectMany(j => j.Journey.Nodes!).Select(n => n.Type).ToHashSet();
        Assert.Equal([], NodeTypes.All.Where(t => !used.Contains(t)).ToArray());
    }

    [Theory]
    [MemberData(nameof(Journeys))]
    public void Every_node_has_a_box_and_every_edge_an_arrow_with_its_label(string name)
    {
        var journey = Journey(name);
        var graph = DiagramGraph.From(journey);
        var svg = XDocument.Parse(DiagramSvg.Render(graph, new DiagramOptions("d", $"Diagram of {journey.Name}")).Value).Root!;

        Assert.Equal(Svg + "svg", svg.Name);
        Assert.Equal($"Diagram of {journey.Name}", svg.Element(Svg + "title")!.Value);
        var boxes = Boxes(svg);
        foreach (var node in journey.Nodes!)
        {
            var box = Assert.Single(boxes, b => b.Id == node.Id);
            Assert.StartsWith(node.Id + " (" + node.Type + ")", box.Title, StringComparison.Ordinal);
        }

        var arrows = svg.Descendants(Svg + "g").Where(g => ((string?)g.Attribute("class"))?.StartsWith("edge ", StringComparison.Ordinal) == true).ToList();
        var expected = journey.Nodes!.SelectMany(n => JourneyGraph.Targets(n).Select(t => (n, t.Field, t.Target))).ToList();
        Assert.Equal(expected.Count, arrows.Count);
        foreach (var (node, field, target) in expected)
        {
            var arrow = Assert.Single(arrows, a => (string?)a.Attribute("data-from") == node.Id && (string?)a.Attribute("data-field") == field);
            Assert.Equal(target, (string?)arrow.Attribute("data-to"));
            Assert.NotNull(arrow.Element(Svg + "path")!.Attribute("d"));
            var label = arrow.Element(Svg + "text")?.Value;
            switch (field)
            {
                case "next":
                    Assert.Null(label);
                    break;
                case "timeoutNext":
                    Assert.Equal("timeout", label);
                    break;
                case "errorNext":
                    Assert.Equal("error", label);
                    break;
                case "otherwise":
                    Assert.Equal("otherwise", label);
                    break;
                case "cappedNext":
                    Assert.Equal("capped", label);
                    break;
                default:
                    var branch = node.Branches![int.Parse(BranchIndex().Match(field).Groups[1].Value, CultureInfo.InvariantCulture)];
                    var full = branch.When ?? $"{branch.Percent} %";
                    Assert.True(full.StartsWith(label!.TrimEnd('…'), StringComparison.Ordinal), $"{label} is not the start of {full}");
                    Assert.Contains(full, arrow.Element(Svg + "title")!.Value, StringComparison.Ordinal);
                    break;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Journeys))]
    public void Boxes_go_left_to_right_by_depth_inside_the_picture_without_overlapping(string name)
    {
        var journey = Journey(name);
        var svg = XDocument.Parse(DiagramSvg.Render(DiagramGraph.From(journey), new DiagramOptions("d", "t")).Value).Root!;
        var boxes = Boxes(svg).ToDictionary(b => b.Id);
        var viewBox = ((string)svg.Attribute("viewBox")!).Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

        Assert.Equal(journey.Start, boxes.Values.MinBy(b => b.X)!.Id);
        foreach (var box in boxes.Values)
        {
            Assert.True(box.X >= 0 && box.Y >= 0 && box.X + box.Width <= viewBox[2] && box.Y + box.Height <= viewBox[3], $"{box.Id} lies outside the picture");
            foreach (var other in boxes.Values.Where(o => string.CompareOrdinal(o.Id, box.Id) > 0))
            {
                var apart = box.X + box.Width <= other.X || other.X + other.Width <= box.X || box.Y + box.Height <= other.Y || other.Y + other.Height <= box.Y;
                Assert.True(apart, $"{box.Id} and {other.Id} overlap");
            }
        }

        // Every edge that does not close a cycle points right; the ones that do are drawn as back edges below.
        var graph = new JourneyGraph(journey.Nodes!.ToDictionary(n => n.Id!));
        foreach (var node in journey.Nodes!)
        {
            foreach (var (_, target) in JourneyGraph.Targets(node).Where(t => boxes.ContainsKey(t.Target) && t.Target != node.Id))
            {
                var closesCycle = graph.Reachable(target).Contains(node.Id!);
                if (!closesCycle)
                {
                    Assert.True(boxes[target].X > boxes[node.Id!].X, $"{node.Id} → {target} does not point right");
                }
            }
        }
    }

    [Fact]
    public void A_chain_is_drawn_on_one_level_and_a_fork_either_side_of_it()
    {
        var (_, journey) = DiagramJourneys.Examples().First(e => e.Journey.Name == "Multi-channel");
        var boxes = Boxes(XDocument.Parse(DiagramSvg.Render(DiagramGraph.From(journey), new DiagramOptions("d", "t")).Value).Root!).ToDictionary(b => b.Id);

        Assert.Equal(boxes["read"].Y, boxes["first"].Y);
        Assert.Equal(boxes["first"].Y, boxes["opened"].Y);
        Assert.True(boxes["purchase"].Y != boxes["followUp"].Y);
        Assert.Equal(boxes["opened"].Y, (boxes["purchase"].Y + boxes["followUp"].Y) / 2, 1);
        Assert.Equal(boxes["purchase"].Y, boxes["thanks"].Y);
        Assert.Equal(new[] { "read", "first", "opened", "purchase", "thanks" }, boxes.Values.Where(b => b.Id != "followUp").OrderBy(b => b.X).Select(b => b.Id));
    }

    [Fact]
    public void A_missing_target_is_drawn_as_a_dashed_box_that_says_so()
    {
        var (_, journey) = DiagramJourneys.EveryNodeType().Single(j => j.Name.Contains("missing", StringComparison.Ordinal));
        var svg = XDocument.Parse(DiagramSvg.Render(DiagramGraph.From(journey), new DiagramOptions("d", "t")).Value).Root!;
        var missing = Assert.Single(Boxes(svg), b => b.Id == "nowhere");
        Assert.Contains("missing", missing.Class, StringComparison.Ordinal);
        Assert.Contains("no node has this id", missing.Title, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_from_the_definition_is_encoded()
    {
        var journey = DiagramJourneys.Parse("""
            { "name": "x", "start": "<img src=x onerror=alert(1)>", "nodes": [
              { "id": "<img src=x onerror=alert(1)>", "type": "condition", "branches": [ { "when": "a = \"</text><script>\"", "next": "b&c" } ] },
              { "id": "b&c", "type": "end" } ] }
            """);
        var markup = DiagramSvg.Render(DiagramGraph.From(journey), new DiagramOptions("d", "<b>title</b>")).Value;
        Assert.DoesNotContain("<img", markup, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", markup, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", markup, StringComparison.Ordinal);
        var svg = XDocument.Parse(markup).Root!;
        Assert.Contains(Boxes(svg), b => b.Id == "b&c");
        Assert.Equal("<b>title</b>", svg.Element(Svg + "title")!.Value);
    }

    internal sealed record Box(string Id, string Class, string Title, double X, double Y, double Width, double Height);

    internal static List<Box> Boxes(XElement svg) =>
    [
        .. svg.Descendants(Svg + "g").Where(g => g.Attribute("data-node") is not null).Select(g =>
        {
            var translate = Translate().Match((string)g.Attribute("transform")!);
            var rect = g.Descendants(Svg + "rect").First(r => (string?)r.Attribute("class") == "box");
            return new Box((string)g.Attribute("data-node")!, (string)g.Attribute("class")!, g.Descendants(Svg + "title").First().Value,
                double.Parse(translate.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(translate.Groups[2].Value, CultureInfo.InvariantCulture),
                double.Parse((string)rect.Attribute("width")!, CultureInfo.InvariantCulture), double.Parse((string)rect.Attribute("height")!, CultureInfo.InvariantCulture));
        }),
    ];

    [GeneratedRegex(@"translate\(([-\d.]+),([-\d.]+)\)")]
    private static partial Regex Translate();

    [GeneratedRegex(@"branches\[(\d+)\]")]
    private static partial Regex BranchIndex();
}
