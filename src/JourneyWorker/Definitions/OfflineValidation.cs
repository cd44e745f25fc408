using System.Text.Json;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Channels.Webhooks;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Journeys;
using JourneyWorker.Journeys.Model;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Definitions;

/// <summary>
/// The service's own <see cref="JourneyValidator"/> without a server: it looks audiences, event configurations and jump
/// targets up in the database, so it gets one of its own, in memory, holding exactly what the folder defines. A journey
/// then gets the codes and messages the API would give it on a server that holds the folder, and nothing else.
/// </summary>
public static class OfflineValidation
{
    public static async Task<List<DefinitionProblem>> ValidateAsync(DefinitionFolder folder, WebhookOptions webhooks, CancellationToken cancellationToken)
    {
        var problems = new List<DefinitionProblem>(folder.Problems);
        // The database lives as long as this connection; nothing is written anywhere.
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync(cancellationToken);
        await using var db = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite(connection).Options);
        await db.Database.EnsureCreatedAsync(cancellationToken);

        var audiences = AddAudiencesAndEventConfigs(db, folder);

        var journeys = folder.Journeys.Where(j => !string.IsNullOrEmpty(j.Definition.Name))
            .ToDictionary(j => j.Definition.Name!, _ => Guid.CreateVersion7(), StringComparer.Ordinal);
        JourneyDefinition InIds(JourneyDefinition journey) => JourneyReferences.Map(journey,
            a => audiences.TryGetValue(a.Trim(), out var id) ? id.ToString() : a,
            j => journeys.TryGetValue(j, out var id) ? id.ToString() : j);
        foreach (var (_, journey) in folder.Journeys.Where(j => !string.IsNullOrEmpty(j.Definition.Name)))
        {
            var id = journeys[journey.Name!];
            // Seeded live: the folder is what is meant to run, and a jump into a journey that is not live would only warn.
            db.Journeys.Add(new Journey
            {
                Id = id,
                Name = journey.Name!,
                Versions = [new JourneyVersion
                {
                    Id = Guid.CreateVersion7(),
                    JourneyId = id,
                    Version = 1,
                    Status = JourneyStatus.Live,
                    Definition = JsonSerializer.Serialize(InIds(journey), JsonSerializerOptions.Web),
                }],
            });
        }
        await db.SaveChangesAsync(cancellationToken);

        var validator = new JourneyValidator(db, new TemplateRenderer(TimeProvider.System), new WebhookHosts(Options.Create(webhooks)));
        // A definition the request validator refused would be refused by the API before the journey validator saw it.
        foreach (var (file, journey) in folder.Journeys.Where(j => !folder.Refused.Contains(j.File)))
        {
            Guid? id = journeys.TryGetValue(journey.Name!, out var own) ? own : null;
            var result = await validator.ValidateAsync(InIds(journey), id, cancellationToken);
            problems.AddRange(result.Errors.Select(e => new DefinitionProblem(file, e.Node ?? "journey", e.Code, e.Message)));
            problems.AddRange(result.Warnings.Select(w => new DefinitionProblem(file, w.Node ?? "journey", w.Code, w.Message, IsWarning: true)));
        }
        return problems;
    }

    /// <summary>
    /// Adds the folder's named audiences and event configurations to <paramref name="db"/> (not saved) under new ids;
    /// returns the audiences' ids by name, for the journeys that name them. An event configuration's fields are kept
    /// when every one is complete (a folder that still has errors gets none: nothing offline reads them then).
    /// </summary>
    public static Dictionary<string, Guid> AddAudiencesAndEventConfigs(JourneyDbContext db, DefinitionFolder folder)
    {
        var audiences = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var (_, audience) in folder.Audiences.Where(a => !string.IsNullOrWhiteSpace(a.Definition.Name)))
        {
            var id = audiences[audience.Name!.Trim()] = Guid.CreateVersion7();
            db.Audiences.Add(new Audience { Id = id, Name = audience.Name.Trim(), Rule = audience.Rule ?? "" });
        }
        foreach (var (_, config) in folder.EventConfigs.Where(c => !string.IsNullOrEmpty(c.Definition.Name)))
        {
            var fields = config.Fields ?? [];
            db.EventConfigs.Add(new EventConfig
            {
                Id = Guid.CreateVersion7(),
                Name = config.Name!,
                IdType = config.IdType ?? "",
                Condition = config.Condition,
                Namespace = config.Namespace ?? "",
                ProfileIdentifier = config.ProfileIdentifier ?? "",
                Fields = fields.All(f => f is { Path: not null, Type: not null })
                    ? EventFieldChecker.SerializeFields(fields.Select(f => new EventField(f.Path!, f.Type!)))
                    : "[]",
            });
        }
        return audiences;
    }
}
