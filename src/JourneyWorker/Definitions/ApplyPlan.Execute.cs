using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Definitions;

/// <summary>Carrying the plan out through the admin API, audiences and event configurations first, then journeys.</summary>
public sealed partial class ApplyPlan
{
    /// <summary>
    /// Applies every change in plan order and says what it did, line by line. The first refusal of the server ends the run
    /// with a <see cref="DefinitionsApiException"/>; what was applied before it stays, and the next plan shows what is left.
    /// </summary>
    public async Task ExecuteAsync(DefinitionsApi api, TextWriter output, CancellationToken cancellationToken)
    {
        foreach (var (change, audience) in Audiences.Where(a => a.Change.Change != ChangeKind.Unchanged))
        {
            var id = change.Change == ChangeKind.Create
                ? _audienceIds[change.Name] = await api.CreateAudienceAsync(audience, cancellationToken)
                : change.Id!.Value;
            if (change.Change == ChangeKind.Update)
            {
                await api.UpdateAudienceAsync(id, audience, cancellationToken);
            }
            await output.WriteLineAsync(Done(change, id, null));
        }

        foreach (var (change, config) in EventConfigs.Where(c => c.Change.Change != ChangeKind.Unchanged))
        {
            var id = change.Change == ChangeKind.Create
                ? await api.CreateEventConfigAsync(config, cancellationToken)
                : change.Id!.Value;
            if (change.Change == ChangeKind.Update)
            {
                await api.UpdateEventConfigAsync(id, config, cancellationToken);
            }
            await output.WriteLineAsync(Done(change, id, null));
        }

        var waiting = new List<(Guid Id, JourneyDefinition Definition)>();
        var publish = new List<(PlannedChange Change, Guid Id)>();
        foreach (var (change, journey) in Journeys.Where(j => j.Change.Change != ChangeKind.Unchanged))
        {
            var id = change.Id ?? Guid.Empty;
            var definition = InIds(journey, out var pending);
            if (change.Change == ChangeKind.Create)
            {
                var created = await api.CreateJourneyAsync(definition, cancellationToken);
                id = _journeyIds[change.Name] = created.Id;
                await output.WriteLineAsync(Done(change, id, $"version {created.Version}, {created.Status}"));
            }
            else if (change.Change == ChangeKind.Update)
            {
                // A live (or ended) version is never edited: the change goes into a new draft made from it.
                var current = _server.Journeys.Single(j => j.Id == id);
                if (current.Status != JourneyStatus.Draft)
                {
                    await api.NewJourneyVersionAsync(id, cancellationToken);
                }
                var updated = await api.UpdateJourneyAsync(id, definition, cancellationToken);
                await output.WriteLineAsync(Done(change, id, $"version {updated.Version}, {updated.Status}"));
            }
            if (pending)
            {
                waiting.Add((id, journey));
            }
            if (Publish)
            {
                publish.Add((change, id));
            }
        }

        // Journeys that jump into each other: the first of them was stored before the other had an id.
        foreach (var (id, journey) in waiting)
        {
            await api.UpdateJourneyAsync(id, InIds(journey, out _), cancellationToken);
        }
        foreach (var (change, id) in publish)
        {
            var published = await api.PublishJourneyAsync(id, cancellationToken);
            await output.WriteLineAsync($"  published  {JourneyKind} \"{change.Name}\" id {id}: version {published.Version}, {published.Status}");
        }
    }

    private static string Done(PlannedChange change, Guid id, string? detail)
    {
        var verb = change.Change == ChangeKind.Create ? "created" : "updated";
        return $"  {verb,-9}  {change.Kind} \"{change.Name}\" id {id}{(detail is null ? "" : ": " + detail)}";
    }
}
