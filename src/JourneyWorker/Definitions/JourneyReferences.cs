using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Definitions;

/// <summary>
/// The members of a journey that name another definition by id on the server and by name in a folder: a node's
/// <c>audience</c> (readAudience, audienceQualification) and a jump's <c>journey</c>. Event nodes, exits and goals
/// already name event configurations by name and need no mapping.
/// </summary>
public static class JourneyReferences
{
    /// <summary>The definition with every audience and journey reference passed through the given maps.</summary>
    public static JourneyDefinition Map(JourneyDefinition journey, Func<string, string> audience, Func<string, string> target) => journey with
    {
        Nodes = journey.Nodes?.ConvertAll(node => node is null ? node! : node with
        {
            Audience = node.Audience is { } a ? audience(a) : null,
            Journey = node.Journey is { } j ? target(j) : null,
        }),
    };

    public static IEnumerable<(string? Node, string Audience)> Audiences(JourneyDefinition journey) =>
        (journey.Nodes ?? []).Where(n => n?.Audience is not null).Select(n => (n.Id, n.Audience!));

    public static IEnumerable<(string? Node, string Journey)> Journeys(JourneyDefinition journey) =>
        (journey.Nodes ?? []).Where(n => n?.Journey is not null).Select(n => (n.Id, n.Journey!));
}
