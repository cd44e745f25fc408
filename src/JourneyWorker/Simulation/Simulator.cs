using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Simulation;

/// <summary>
/// Runs a journey version for a set of profiles on a virtual clock: a queue of what comes due (instances whose wait or
/// timeout ends, scripted events, the seeded reactions to messages), taken in time order, each instance stepped by the
/// engine's own <see cref="NodeStepper"/> (the live runner's node semantics: templates, conditions, send windows, waits,
/// consent and suppressions). Nothing is sent: a message the engine would send is counted, checked against the
/// frequency rules as a checkpoint would, and completed as sent. Nothing is written: the instances live in memory.
/// A webhook call counts as answered 2xx without a body, so it goes on along next (a simulation must not call out).
/// Jumps count as passed; the other journey is not simulated.
/// </summary>
public sealed partial class Simulator(NodeStepper stepper)
{
    private readonly PriorityQueue<Action, (long At, long Seq)> _queue = new();
    private readonly Dictionary<long, SimulatedInstance> _current = [];
    private readonly List<SimulatedInstance> _instances = [];
    private readonly Dictionary<long, List<(string Channel, long At)>> _sends = [];
    private SimulationInput _input = null!;
    private SimulationTally _tally = null!;
    private long _seq;
    private long _startMs;

    private CompiledJourney Journey => _input.Journey;

    /// <summary>Runs the simulation; a <see cref="Simulator"/> runs one.</summary>
    public SimulationResponse Run(SimulationInput input, CancellationToken cancellationToken)
    {
        if (_input is not null)
        {
            throw new InvalidOperationException("A simulator runs one simulation.");
        }
        _input = input;
        _tally = new SimulationTally(input);
        _startMs = input.Start.ToUnixTimeMilliseconds();
        var endMs = (input.Start + input.Horizon).ToUnixTimeMilliseconds();

        // Entries other than an event (Read Audience, audience qualification, a jump's entry) admit every profile at the start.
        if (Journey.Start is { } start && start.Type != NodeTypes.Event)
        {
            foreach (var profile in input.Profiles)
            {
                var admitted = profile;
                At(_startMs, () => Admit(admitted, _startMs, null));
            }
        }
        foreach (var scripted in input.Events)
        {
            var e = scripted;
            At((input.Start + e.At).ToUnixTimeMilliseconds(), () => Deliver(e));
        }

        var taken = 0;
        while (_queue.TryPeek(out _, out var key) && key.At < endMs)
        {
            if (++taken % 1024 == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            _queue.Dequeue()();
        }
        return _tally.Result(_instances);
    }

    private void At(long atMs, Action action) => _queue.Enqueue(action, (atMs, _seq++));

    private void Admit(Profile profile, long atMs, string? context)
    {
        var journey = Journey;
        if (_current.TryGetValue(profile.Id, out var previous)
            && (previous.IsRunning || !journey.ReentranceAllowed
                || (previous.Instance.EndedAt is { } ended && atMs < new DateTimeOffset(ended, TimeSpan.Zero).Add(journey.ReentranceWait).ToUnixTimeMilliseconds())))
        {
            return;
        }
        var now = DateTimeOffset.FromUnixTimeMilliseconds(atMs);
        var instance = new JourneyInstance
        {
            Id = _instances.Count + 1,
            JourneyId = journey.Version.JourneyId,
            JourneyVersionId = journey.Version.Id,
            ProfileId = profile.Id,
            Status = InstanceStatus.Active,
            NodeId = journey.Start!.Next,
            DueAt = atMs,
            Context = context ?? "{}",
            NextSeq = StoredSteps.FirstSeq,
            DeadlineAt = (now + journey.Timeout).ToUnixTimeMilliseconds(),
            EnteredAt = now.UtcDateTime,
        };
        var simulated = new SimulatedInstance(instance, profile);
        _instances.Add(simulated);
        _current[profile.Id] = simulated;
        // The entry steps the live store presents from the instance row (EntrySteps): entered and succeeded at the start node.
        _tally.Count(simulated, journey.Start.Id!, StepOutcome.Entered);
        _tally.Count(simulated, journey.Start.Id!, StepOutcome.Succeeded);
        RunNow(simulated, atMs);
    }

    /// <summary>The instance came due at <paramref name="atMs"/>: it runs as a claim of the live runner would.</summary>
    private void RunNow(SimulatedInstance simulated, long atMs)
    {
        simulated.Version++;
        var run = NewRun(simulated, atMs);
        Guarded(run, () => stepper.Start(run, _input.Suppressed));
        Settle(simulated, run);
    }

    private InstanceRun NewRun(SimulatedInstance simulated, long atMs)
    {
        var run = new InstanceRun(simulated.Instance, DateTimeOffset.FromUnixTimeMilliseconds(atMs)) { Journey = Journey, Profile = simulated.Profile };
        foreach (var (node, message) in simulated.Outbox)
        {
            run.Outbox[node] = message;
        }
        run.Reactions.UnionWith(simulated.Reactions);
        return run;
    }

    /// <summary>
    /// What the live batch does after stepping a run, in memory: each message it has ready goes through the frequency rules
    /// (a capped one is skipped and the run moves on) and is then counted as sent; then the steps are counted and the
    /// instance's next wake-up is queued.
    /// </summary>
    private void Settle(SimulatedInstance simulated, InstanceRun run)
    {
        while (run.PendingSend is { } send && !run.Lost)
        {
            var outbox = send.Outbox;
            var profileId = simulated.Profile.Id;
            if (outbox.Category == MessageCategory.Marketing && Breaks(profileId, outbox.Channel, run.NowMs) is { } rule)
            {
                _tally.Capped(rule);
                Guarded(run, () => stepper.Capped(run, rule.ToString(), _input.Suppressed));
                continue;
            }
            if (outbox.Category == MessageCategory.Marketing)
            {
                Ledger(profileId).Add((outbox.Channel, run.NowMs));
            }
            _tally.Sent(outbox.Channel, run.NowMs - _startMs);
            ScheduleReactions(simulated, send.Node.Id!, outbox.Channel, run.NowMs);
            Guarded(run, () => stepper.Sent(run, SendResult.Sent, _input.Suppressed));
        }

        // A reaction that came before the wait began is already in run.Reactions; later ones resume the wait when they come.
        run.ReactionCheck = null;
        foreach (var jump in run.Jumps)
        {
            jump.Step.Outcome = StepOutcome.Succeeded;
            jump.Step.Detail = "Simulated: the jump is counted as passed; the other journey is not simulated.";
        }
        foreach (var step in run.NewSteps)
        {
            _tally.Count(simulated, step.NodeId, step.Outcome);
        }
        foreach (var (node, message) in run.Outbox)
        {
            simulated.Outbox[node] = message;
        }

        var instance = simulated.Instance;
        if (instance is { Status: InstanceStatus.Waiting, WaitingFor: WaitKeys.SendWindow, NodeId: { } waitingAt })
        {
            _tally.Deferred(waitingAt);
        }
        if (simulated.IsRunning && instance.DueAt is { } due)
        {
            var version = simulated.Version;
            At(Math.Max(due, run.NowMs), () =>
            {
                if (simulated.Version == version && simulated.IsRunning)
                {
                    RunNow(simulated, Math.Max(due, run.NowMs));
                }
            });
        }
    }

    /// <summary>The first rule (in their order) one more <paramref name="channel"/> message to the profile would break, as a checkpoint counts.</summary>
    private FrequencyCap? Breaks(long profileId, string channel, long nowMs)
    {
        foreach (var rule in _input.Caps)
        {
            if (!rule.Covers(channel))
            {
                continue;
            }
            var since = nowMs - (long)rule.Per.TotalMilliseconds;
            var count = _sends.TryGetValue(profileId, out var sent) ? sent.Count(s => s.At >= since && rule.Covers(s.Channel)) : 0;
            if (count >= rule.Max)
            {
                return rule;
            }
        }
        return null;
    }

    private List<(string Channel, long At)> Ledger(long profileId)
    {
        if (!_sends.TryGetValue(profileId, out var sent))
        {
            _sends[profileId] = sent = [];
        }
        return sent;
    }

    /// <summary>One instance's unexpected failure ends that instance, as in the live runner.</summary>
    private static void Guarded(InstanceRun run, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            NodeStepper.FailInternally(run, e);
        }
    }
}
