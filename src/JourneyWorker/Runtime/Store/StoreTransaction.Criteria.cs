using JourneyWorker.Data;

namespace JourneyWorker.Runtime.Store;

/// <summary>An instance of a profile as exit and goal criteria see it.</summary>
public sealed record ProfileInstance(long Id, Guid VersionId, string Status, DateTime EnteredAt)
{
    public bool IsRunning => Status is InstanceStatus.Active or InstanceStatus.Waiting;
}

/// <summary>The writes of journey-level criteria: an instance ended by an exit, a goal's conversion.</summary>
public sealed partial class StoreTransaction
{
    /// <summary>Every instance of the profile, running or ended.</summary>
    public async Task<List<ProfileInstance>> ProfileInstancesAsync(long profileId, CancellationToken cancellationToken)
    {
        await using var command = Command(sql.InstancesOfProfile);
        command.AddParameter("@profile", profileId);
        var found = new List<ProfileInstance>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(new ProfileInstance(reader.GetInt64(0), reader.GetGuid(1), reader.GetString(2), DateTime.SpecifyKind(reader.GetDateTime(3), DateTimeKind.Utc)));
        }
        return found;
    }

    /// <summary>
    /// Ends the instance now if it still runs (status exited, <paramref name="reason"/> as its end reason, an exited step
    /// with <paramref name="detail"/> at the node where it was); a closed version whose last instance it was is finished.
    /// Returns whether it ended here.
    /// </summary>
    public async Task<bool> ExitInstanceAsync(long instanceId, Guid versionId, string reason, string detail, DateTime now, CancellationToken cancellationToken)
    {
        if (await ExitAsync(sql.LockExitInstance, sql.ExitInstanceStep, sql.ExitInstance, sql.ExitInstanceCounts, "@id", instanceId, versionId,
                reason, detail, now, cancellationToken) == 0)
        {
            return false;
        }
        await FinishClosedVersionsAsync([versionId], now, cancellationToken);
        return true;
    }

    /// <summary>Counts the goal for the instance unless it already converted; returns whether this was its conversion.</summary>
    public async Task<bool> ConvertAsync(long instanceId, DateTime now, CancellationToken cancellationToken)
    {
        await using var command = Command(sql.InsertConversion);
        command.AddParameter("@id", instanceId);
        command.AddParameter("@sent", OutboxStatus.Sent);
        command.AddParameter("@at", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return false;
        }
        Counters.Conversion(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1));
        return true;
    }
}
