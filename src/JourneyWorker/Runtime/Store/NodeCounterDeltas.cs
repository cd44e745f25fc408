using System.Data.Common;
using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>
/// The changes one write transaction makes to the report's counters (<see cref="NodeCounter"/>), gathered in memory while
/// it writes the steps and instance states they count and applied just before its commit (<see cref="ApplyAsync"/>):
/// the counters are never out of step with what they count. An instance is always counted in exactly one instance
/// column (its version, node and status), so every change of state moves one count from one cell to another.
/// </summary>
public sealed class NodeCounterDeltas
{
    /// <summary>The columns of a counter row, in the order of <see cref="InstanceSql.UpsertCounter"/>'s parameters.</summary>
    internal static readonly string[] Columns =
    [
        nameof(NodeCounter.Entered), nameof(NodeCounter.Succeeded), nameof(NodeCounter.Failed), nameof(NodeCounter.TimedOut),
        nameof(NodeCounter.Skipped), nameof(NodeCounter.Exited), nameof(NodeCounter.Active), nameof(NodeCounter.Waiting),
        nameof(NodeCounter.EndedCompleted), nameof(NodeCounter.EndedFailed), nameof(NodeCounter.EndedExited), nameof(NodeCounter.Conversions),
    ];

    private const int ConversionsColumn = 11;

    private readonly Dictionary<(Guid Version, string Node), long[]> _rows = [];

    public bool IsEmpty => _rows.Values.All(r => r.All(v => v == 0));

    /// <summary>A stored step (the step columns; an outcome the report does not know is not counted).</summary>
    public void Step(Guid version, string node, string outcome, long count = 1)
    {
        if (StepColumn(outcome) is { } column)
        {
            Row(version, node)[column] += count;
        }
    }

    /// <summary>Instances of the version entering (+) or leaving (-) the state "at <paramref name="node"/> with <paramref name="status"/>".</summary>
    public void Instances(Guid version, string? node, string status, long count)
    {
        if (StatusColumn(status) is { } column)
        {
            Row(version, node ?? "")[column] += count;
        }
    }

    /// <summary>Instances of the version moving from one state to another (nothing when they are the same).</summary>
    public void Move(Guid version, (string Status, string? Node) from, (string Status, string? Node) to, long count = 1)
    {
        if (from.Status == to.Status && string.Equals(from.Node ?? "", to.Node ?? "", StringComparison.Ordinal))
        {
            return;
        }
        Instances(version, from.Node, from.Status, -count);
        Instances(version, to.Node, to.Status, count);
    }

    /// <summary>A conversion attributed to <paramref name="node"/> (null: to no message).</summary>
    public void Conversion(Guid version, string? node, long count = 1) => Row(version, node ?? "")[ConversionsColumn] += count;

    private long[] Row(Guid version, string node)
    {
        if (!_rows.TryGetValue((version, node), out var row))
        {
            _rows[(version, node)] = row = new long[Columns.Length];
        }
        return row;
    }

    internal static int? StepColumn(string outcome) => outcome switch
    {
        StepOutcome.Entered => 0,
        StepOutcome.Succeeded => 1,
        StepOutcome.Failed => 2,
        StepOutcome.TimedOut => 3,
        StepOutcome.Skipped => 4,
        StepOutcome.Exited => 5,
        _ => null,
    };

    internal static int? StatusColumn(string status) => status switch
    {
        InstanceStatus.Active => 6,
        InstanceStatus.Waiting => 7,
        InstanceStatus.Completed => 8,
        InstanceStatus.Failed => 9,
        InstanceStatus.Exited => 10,
        _ => null,
    };

    /// <summary>
    /// Adds the gathered changes to this writer's counter rows (<see cref="InstanceSql.CounterShard"/>) and forgets them. Called last in
    /// the transaction, rows in one order (version, node): a transaction holding a counter row then only waits for other
    /// counter rows, taken in the same order by everyone, so counters add no deadlock to the locks taken before them.
    /// </summary>
    public async Task ApplyAsync(DbTransaction transaction, InstanceSql sql, CancellationToken cancellationToken)
    {
        var rows = _rows.Where(r => r.Value.Any(v => v != 0))
            .OrderBy(r => r.Key.Version).ThenBy(r => r.Key.Node, StringComparer.Ordinal).ToList();
        _rows.Clear();
        if (rows.Count == 0)
        {
            return;
        }
        if (StoreTransaction.CreateBatch(transaction, sql) is { } batch)
        {
            await using (batch)
            {
                foreach (var (key, values) in rows)
                {
                    batch.Add(sql.UpsertCounter, Parameters(sql, key, values));
                }
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
            return;
        }
        await using var command = StoreTransaction.Command(transaction, sql.UpsertCounter);
        foreach (var (name, value) in Parameters(sql, rows[0].Key, rows[0].Value))
        {
            command.AddParameter(name, value);
        }
        foreach (var (key, values) in rows)
        {
            foreach (var (name, value) in Parameters(sql, key, values))
            {
                command.Parameters[name].Value = value;
            }
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static (string, object?)[] Parameters(InstanceSql sql, (Guid Version, string Node) key, long[] values)
    {
        var parameters = new (string, object?)[values.Length + 3];
        parameters[0] = ("@version", sql.Guid(key.Version));
        parameters[1] = ("@node", key.Node);
        parameters[2] = ("@shard", sql.CounterShard);
        for (var k = 0; k < values.Length; k++)
        {
            parameters[k + 3] = ($"@c{k}", values[k]);
        }
        return parameters;
    }
}
