using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Profiles;

/// <summary>
/// A profile as an import batch leaves it: what was stored before (for one that exists) and what the batch's lines
/// made of it. The batch's lines are applied to these in memory, in order, and the result is written once.
/// </summary>
public sealed class BatchProfile
{
    /// <summary>The stored id; 0 for a new profile until it is inserted.</summary>
    public long Id { get; set; }

    /// <summary>The identities stored before the batch; null for a profile the batch creates.</summary>
    public HashSet<(string Namespace, string Value)>? StoredIdentities { get; init; }

    /// <summary>The push tokens stored before the batch (token to platform); null for a profile the batch creates.</summary>
    public Dictionary<string, string>? StoredTokens { get; init; }

    public bool IsNew => StoredIdentities is null;

    public HashSet<(string Namespace, string Value)> Identities { get; init; } = [];
    public Dictionary<string, string> Tokens { get; set; } = new(StringComparer.Ordinal);
    public string Attributes { get; set; } = "{}";
    public bool ConsentEmail { get; set; } = true;
    public bool ConsentPush { get; set; } = true;
    public bool IsTest { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>Whether a line of the batch was applied to it (a stored profile that only clashed is not written).</summary>
    public bool Written { get; set; }
}

/// <summary>
/// Every statement of the profile import, one set per provider: who holds a batch's identities, the stored state of
/// the profiles it updates, and the batch's rows written set-based (prepared statements reused row after row on
/// SQLite, where a statement costs a function call; one array statement per table on PostgreSQL, where it costs a
/// round trip). Run inside the batch's store transaction, with no change tracking.
/// </summary>
public abstract class ProfileSql
{
    /// <summary>The profile holding each of these identities, for those some profile holds.</summary>
    public abstract Task<Dictionary<(string Namespace, string Value), long>> OwnersAsync(
        StoreTransaction tx, IReadOnlyCollection<(string Namespace, string Value)> identities, CancellationToken cancellationToken);

    /// <summary>The stored consent, identities and push tokens of these profiles (attributes are replaced, so not read).</summary>
    public abstract Task<Dictionary<long, BatchProfile>> LoadAsync(StoreTransaction tx, IReadOnlyCollection<long> ids, CancellationToken cancellationToken);

    /// <summary>Inserts the new profiles (setting their ids), then updates the others; identities removed go before identities added.</summary>
    public async Task WriteAsync(StoreTransaction tx, IReadOnlyList<BatchProfile> profiles, CancellationToken cancellationToken)
    {
        var created = profiles.Where(p => p.Written && p.IsNew).ToList();
        var updated = profiles.Where(p => p.Written && !p.IsNew).ToList();
        await InsertProfilesAsync(tx, created, cancellationToken);
        await UpdateProfilesAsync(tx, updated, cancellationToken);

        // An identity can move from one profile of the batch to another (dropped by one line, taken by a later one):
        // every removal is written before any insert, so the unique index never sees it twice.
        var identityRemovals = updated
            .SelectMany(p => p.StoredIdentities!.Where(i => !p.Identities.Contains(i)).Select(i => new IdentityRow(p.Id, i.Namespace, i.Value)))
            .ToList();
        var identityAdditions = profiles.Where(p => p.Written)
            .SelectMany(p => p.Identities.Where(i => p.StoredIdentities?.Contains(i) != true).Select(i => new IdentityRow(p.Id, i.Namespace, i.Value)))
            .ToList();
        await DeleteIdentitiesAsync(tx, identityRemovals, cancellationToken);
        await InsertIdentitiesAsync(tx, identityAdditions, cancellationToken);

        // A token kept keeps its row (and when it was retired); only its platform may change.
        var tokenRemovals = updated
            .SelectMany(p => p.StoredTokens!.Keys.Where(t => !p.Tokens.ContainsKey(t)).Select(t => new TokenRow(p.Id, t, "")))
            .ToList();
        var tokenAdditions = profiles.Where(p => p.Written)
            .SelectMany(p => p.Tokens.Where(t => p.StoredTokens?.ContainsKey(t.Key) != true).Select(t => new TokenRow(p.Id, t.Key, t.Value)))
            .ToList();
        var platformChanges = updated
            .SelectMany(p => p.Tokens.Where(t => p.StoredTokens!.TryGetValue(t.Key, out var old) && old != t.Value).Select(t => new TokenRow(p.Id, t.Key, t.Value)))
            .ToList();
        await DeleteTokensAsync(tx, tokenRemovals, cancellationToken);
        await InsertTokensAsync(tx, tokenAdditions, cancellationToken);
        await UpdatePlatformsAsync(tx, platformChanges, cancellationToken);
    }

    protected abstract Task InsertProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken);
    protected abstract Task UpdateProfilesAsync(StoreTransaction tx, List<BatchProfile> profiles, CancellationToken cancellationToken);
    protected abstract Task DeleteIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken);
    protected abstract Task InsertIdentitiesAsync(StoreTransaction tx, List<IdentityRow> rows, CancellationToken cancellationToken);
    protected abstract Task DeleteTokensAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken);
    protected abstract Task InsertTokensAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken);
    protected abstract Task UpdatePlatformsAsync(StoreTransaction tx, List<TokenRow> rows, CancellationToken cancellationToken);

    protected readonly record struct IdentityRow(long ProfileId, string Namespace, string Value);

    protected readonly record struct TokenRow(long ProfileId, string Token, string Platform);

    /// <summary>Adds what was read of one stored profile (its consent row, identity rows, token rows) to <paramref name="found"/>.</summary>
    protected static BatchProfile Stored(Dictionary<long, BatchProfile> found, long id) =>
        found.TryGetValue(id, out var profile)
            ? profile
            : found[id] = new BatchProfile { Id = id, StoredIdentities = [], StoredTokens = new(StringComparer.Ordinal) };
}
