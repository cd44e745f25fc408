using System.Text.Json;
using System.Text.Json.Nodes;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Audiences;

/// <summary>Whether a live journey reads an audience or admits its qualifying profiles (then it may not be deleted).</summary>
public static class AudienceUsage
{
    public static async Task<bool> IsUsedByLiveJourneyAsync(JourneyDbContext db, Guid audienceId, CancellationToken ct)
    {
        // Live versions are few; scanning their definitions beats a schema change for a reverse index.
        var definitions = await db.JourneyVersions.Where(v => v.Status == "live").Select(v => v.Definition).ToListAsync(ct);
        return definitions.Any(d => ReadsAudience(d, audienceId));
    }

    public static bool ReadsAudience(string definition, Guid audienceId)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(definition);
        }
        catch (JsonException)
        {
            return false;
        }

        return root?["nodes"] is JsonArray nodes && nodes.OfType<JsonObject>().Any(node =>
            node["type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String
            && type.GetValue<string>() is NodeTypes.ReadAudience or NodeTypes.AudienceQualification
            && node["audience"] is JsonValue audience && audience.GetValueKind() == JsonValueKind.String
            && Guid.TryParse(audience.GetValue<string>(), out var id) && id == audienceId);
    }
}
