using JourneyWorker.Expressions;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Events;

/// <summary>
/// What a stored event does through journey-level criteria: an exit ends the profile's running instance of that version
/// at once, wherever it is (status exited, the criterion named in its end reason and history); the goal counts a
/// conversion for an instance entered within its time, once, and ends it too when the goal says so.
/// </summary>
public static class EventCriteria
{
    /// <summary>
    /// Applies the criteria the event meets; returns how many instances it ended (what the event moved counts as routed, as
    /// a resume or an admission does; a conversion alone moves nothing and shows in the report).
    /// </summary>
    public static async Task<int> ApplyAsync(StoreTransaction tx, ILookup<string, EventCriterion> criteria, PendingEvent e, CancellationToken cancellationToken)
    {
        var affected = new HashSet<long>();
        foreach (var (eventName, profileId) in e.Profiles)
        {
            var met = criteria[eventName].Where(c => c.When is null || ExpressionEvaluator.IsTrue(c.When, e.PayloadObject, e.ReceivedAt)).ToList();
            if (met.Count == 0)
            {
                continue;
            }
            // Read for each such event, not once per batch: an earlier event of the same batch may have admitted or ended one.
            var instances = await tx.ProfileInstancesAsync(profileId, cancellationToken);
            foreach (var criterion in met)
            {
                foreach (var instance in instances.Where(i => i.VersionId == criterion.Journey.Version.Id))
                {
                    if (criterion.IsGoal)
                    {
                        // Only within its time of entry; an instance that converted before counts once.
                        if (instance.EnteredAt < (e.ReceivedAt - criterion.Within).UtcDateTime
                            || !await tx.ConvertAsync(instance.Id, e.ReceivedAt.UtcDateTime, cancellationToken))
                        {
                            continue;
                        }
                    }
                    if (criterion.Exits && instance.IsRunning
                        && await tx.ExitInstanceAsync(instance.Id, instance.VersionId, criterion.Name,
                            $"'{eventName}' event {e.Id} met {(criterion.IsGoal ? "the goal" : "an exit criterion")}.", e.ReceivedAt.UtcDateTime, cancellationToken))
                    {
                        affected.Add(instance.Id);
                    }
                }
            }
        }
        return affected.Count;
    }
}
