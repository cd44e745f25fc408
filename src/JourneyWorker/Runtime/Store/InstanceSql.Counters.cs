using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>The statements of the report's counters (<see cref="NodeCounter"/>, <see cref="NodeCounterDeltas"/>).</summary>
public abstract partial class InstanceSql
{
    /// <summary>
    /// The counter row of this writer (@shard) for a version's node, created or added to: @c0… are the deltas of the
    /// columns in <see cref="NodeCounterDeltas"/>' order.
    /// </summary>
    public string UpsertCounter { get; } = $"""
        INSERT INTO "NodeCounters" ("VersionId", "NodeId", "Shard", {string.Join(", ", NodeCounterDeltas.Columns.Select(c => $"\"{c}\""))})
        VALUES (@version, @node, @shard, {string.Join(", ", NodeCounterDeltas.Columns.Select((_, k) => $"@c{k}"))})
        ON CONFLICT ("VersionId", "NodeId", "Shard") DO UPDATE
        SET {string.Join(", ", NodeCounterDeltas.Columns.Select(c => $"\"{c}\" = \"NodeCounters\".\"{c}\" + excluded.\"{c}\""))}
        """;

    /// <summary>
    /// Fills the report's counters of a database that had none (the migration that adds them) from what they count: the
    /// stored steps, the instances where they are now, the conversions; shard 0. Run once, in the migration's transaction.
    /// State names are this code's constants (a migration takes no parameters).
    /// </summary>
    public static string BackfillCounters { get; } = BackfillText();

    private static string BackfillText()
    {
        string Sum(string source, string? kind, int column) => kind is null
            ? $"sum(CASE WHEN \"Source\" = '{source}' THEN \"N\" ELSE 0 END) AS \"{NodeCounterDeltas.Columns[column]}\""
            : $"sum(CASE WHEN \"Source\" = '{source}' AND \"Kind\" = '{kind}' THEN \"N\" ELSE 0 END) AS \"{NodeCounterDeltas.Columns[column]}\"";
        var steps = new[] { StepOutcome.Entered, StepOutcome.Succeeded, StepOutcome.Failed, StepOutcome.TimedOut, StepOutcome.Skipped, StepOutcome.Exited }
            .Select(o => Sum("s", o, NodeCounterDeltas.StepColumn(o)!.Value));
        var states = new[] { InstanceStatus.Active, InstanceStatus.Waiting, InstanceStatus.Completed, InstanceStatus.Failed, InstanceStatus.Exited }
            .Select(st => Sum("i", st, NodeCounterDeltas.StatusColumn(st)!.Value));
        return $"""
            INSERT INTO "NodeCounters" ("VersionId", "NodeId", "Shard", {string.Join(", ", NodeCounterDeltas.Columns.Select(c => $"\"{c}\""))})
            SELECT "VersionId", "NodeId", 0, {string.Join(", ", steps.Concat(states).Append(Sum("c", null, NodeCounterDeltas.Columns.Length - 1)))}
            FROM (
                SELECT 's' AS "Source", i."JourneyVersionId" AS "VersionId", s."NodeId" AS "NodeId", s."Outcome" AS "Kind", count(*) AS "N"
                FROM "InstanceSteps" s JOIN "JourneyInstances" i ON i."Id" = s."InstanceId"
                GROUP BY i."JourneyVersionId", s."NodeId", s."Outcome"
                UNION ALL
                SELECT 'i', "JourneyVersionId", COALESCE("NodeId", ''), "Status", count(*)
                FROM "JourneyInstances" GROUP BY "JourneyVersionId", COALESCE("NodeId", ''), "Status"
                UNION ALL
                SELECT 'c', "JourneyVersionId", COALESCE("NodeId", ''), '', count(*)
                FROM "Conversions" GROUP BY "JourneyVersionId", COALESCE("NodeId", '')) AS "x"
            GROUP BY "VersionId", "NodeId"
            """;
    }

    /// <summary>
    /// Which counter rows this process writes (<see cref="NodeCounter.Shard"/>): a small hash of its worker id where
    /// several workers write at once (PostgreSQL), so that they do not queue on one row; 0 where writes are one at a time.
    /// </summary>
    public int CounterShard { get; init; }
}
