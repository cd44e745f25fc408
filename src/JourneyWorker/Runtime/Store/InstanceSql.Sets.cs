namespace JourneyWorker.Runtime.Store;

/// <summary>
/// The runner's writes as one statement per kind of row for a whole batch (see StoreSession.RunsBatched), where the
/// provider can take a column of values as an array: each parameter is an array holding one element per row, in the
/// same order across the arrays of a statement. Null where the provider writes row by row.
/// </summary>
public abstract partial class InstanceSql
{
    /// <summary>
    /// <see cref="UpdateInstance"/> for every row of the arrays @ids, @statuses, @nodes, @dues, @waitings, @seqs, @endeds,
    /// @reasons, @leaseOwners, @leaseUntils, @contexts (a null context keeps the stored one); accepted only where the lease
    /// is still @owner's. Returns the ids it updated: a run whose id is missing lost its lease.
    /// </summary>
    public virtual string? UpdateInstances => null;

    /// <summary><see cref="InsertStep"/> for every row of @instances, @seqs, @nodes, @outcomes, @ats, @details.</summary>
    public virtual string? InsertSteps => null;

    /// <summary><see cref="UpdateOutbox"/> for every row of @ids, @statuses, @attempts, @errors, @sents.</summary>
    public virtual string? UpdateOutboxes => null;

    /// <summary>
    /// <see cref="InsertOutbox"/> for every row of @instances, @profiles, @nodes, @channels, @categories, @messageIds,
    /// @statuses, @attempts, @errors, @created, @sents; returns each new row's ("Id", "MessageId") (Message-IDs are unique).
    /// </summary>
    public virtual string? InsertOutboxes => null;

    /// <summary><see cref="InsertLink"/> for every row of @outboxes, @indexes, @urls.</summary>
    public virtual string? InsertLinks => null;
}
