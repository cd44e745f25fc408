using System.Data.Common;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Rules;

namespace JourneyWorker.Runtime.Store;

/// <summary>A frequency rule as a checkpoint applies it.</summary>
public sealed record FrequencyCap(string Channel, int Max, TimeSpan Per)
{
    public bool Covers(string channel) => Channel == FrequencyChannels.Any || Channel == channel;

    /// <summary>How a capped step names the rule: "frequency cap email 3 per P7D".</summary>
    public override string ToString() => $"frequency cap {Channel} {Max} per {IsoDuration.Format(Per)}";
}

/// <summary>The batch's frequency rules, and what the engine does with a send one of them caps (skips it and moves the run on).</summary>
public sealed record CapCheck(IReadOnlyList<FrequencyCap> Rules, Action<InstanceRun, FrequencyCap> Capped);

public sealed partial class StoreSession
{
    /// <summary>
    /// Decides, inside the checkpoint transaction and before it writes anything, which of the marketing messages about
    /// to leave the frequency rules let through. The count is one query for every profile of the checkpoint: the
    /// messages let through in each rule's window that were sent or are pending (checkpointed by an earlier round of
    /// this batch or by another batch, and about to leave or waiting for a retry); the sends this checkpoint lets
    /// through are added as it goes, so two messages to one profile in one checkpoint count each other. The count and
    /// the new pending rows commit together, and a second checkpoint for the same profile counts only after that
    /// commit: SQLite writes one transaction at a time (the write gate, BEGIN IMMEDIATE); PostgreSQL takes an advisory
    /// lock per profile first.
    /// A capped send is handed to the engine, which skips it and moves the run on (to another message, perhaps, which
    /// is then checked too). Test instances are not capped (as a test send, they still count).
    /// </summary>
    private async Task CheckCapsAsync(DbTransaction transaction, IReadOnlyCollection<InstanceRun> runs, CapCheck caps, CancellationToken cancellationToken)
    {
        bool Candidate(InstanceRun run) =>
            !run.Lost && !run.Released && !run.Instance.IsTest
            && run.PendingSend is { Outbox: { Id: 0, Category: MessageCategory.Marketing } outbox }
            && caps.Rules.Any(rule => rule.Covers(outbox.Channel));

        var candidates = runs.Where(Candidate).ToList();
        if (candidates.Count == 0)
        {
            return;
        }

        var profiles = candidates.Select(r => r.Instance.ProfileId).Distinct().OrderBy(id => id & int.MaxValue).ThenBy(id => id).ToArray();
        var ledger = new CapLedger(caps.Rules, await CountCappedAsync(transaction, profiles, caps.Rules, candidates[0].Now, cancellationToken));
        foreach (var run in candidates)
        {
            while (Candidate(run) && ledger.Breaks(run.Instance.ProfileId, run.PendingSend!.Outbox.Channel) is { } rule)
            {
                caps.Capped(run, rule);
            }
            if (Candidate(run))
            {
                ledger.Add(run.Instance.ProfileId, run.PendingSend!.Outbox.Channel);
            }
        }
    }

    /// <summary>
    /// Per (profile, channel), how many marketing messages count against each rule (by its position) now. Where the
    /// profiles are locked first (PostgreSQL), the locks and the count go in one round trip, the locks first.
    /// </summary>
    private async Task<Dictionary<(long Profile, string Channel), long[]>> CountCappedAsync(
        DbTransaction transaction, long[] profiles, IReadOnlyList<FrequencyCap> rules, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var locks = _sql.LockCapProfiles;
        var count = _sql.CapCounts(rules.Count);
        await using var command = StoreTransaction.Command(transaction, locks is null ? count : $"{locks};\n{count}");
        command.AddParameter("@ids", _sql.Ids(profiles));
        command.AddParameter("@sent", OutboxStatus.Sent);
        command.AddParameter("@pending", OutboxStatus.Pending);
        command.AddParameter("@marketing", MessageCategory.Marketing);
        command.AddParameter("@since", (now - rules.Max(r => r.Per)).UtcDateTime);
        for (var k = 0; k < rules.Count; k++)
        {
            command.AddParameter($"@since{k}", (now - rules[k].Per).UtcDateTime);
        }

        var counts = new Dictionary<(long, string), long[]>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (locks is not null)
        {
            await reader.NextResultAsync(cancellationToken);
        }
        while (await reader.ReadAsync(cancellationToken))
        {
            var perRule = new long[rules.Count];
            for (var k = 0; k < rules.Count; k++)
            {
                perRule[k] = reader.GetInt64(2 + k);
            }
            counts[(reader.GetInt64(0), reader.GetString(1))] = perRule;
        }
        return counts;
    }

    /// <summary>The counts of one checkpoint: what the database held when it began, plus the sends it has let through since.</summary>
    private sealed class CapLedger(IReadOnlyList<FrequencyCap> rules, Dictionary<(long Profile, string Channel), long[]> stored)
    {
        private static readonly string[] Channels = [NodeTypes.Email, NodeTypes.Push];
        private readonly Dictionary<(long, string), int> _added = [];

        /// <summary>The first rule (in the order the rules were given) that one more <paramref name="channel"/> message would break.</summary>
        public FrequencyCap? Breaks(long profile, string channel)
        {
            for (var k = 0; k < rules.Count; k++)
            {
                var rule = rules[k];
                if (!rule.Covers(channel))
                {
                    continue;
                }
                var count = 0L;
                foreach (var counted in Channels.Where(rule.Covers))
                {
                    count += (stored.TryGetValue((profile, counted), out var perRule) ? perRule[k] : 0) + _added.GetValueOrDefault((profile, counted));
                }
                if (count >= rule.Max)
                {
                    return rule;
                }
            }
            return null;
        }

        public void Add(long profile, string channel) => _added[(profile, channel)] = _added.GetValueOrDefault((profile, channel)) + 1;
    }
}
