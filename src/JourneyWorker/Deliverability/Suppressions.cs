using JourneyWorker.Data;
using JourneyWorker.Runtime;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Deliverability;

/// <summary>One entry of GET /api/suppressions; <paramref name="Address"/> is null when only the hash is kept (see <see cref="EmailSuppression"/>).</summary>
public sealed record SuppressionResponse(string? Address, string Reason, DateTime At, string? Detail);

/// <summary>
/// The e-mail suppression list: addresses no journey mails, whichever profile carries them. The dispatcher reads it
/// for every batch that sends e-mail; unsubscribes, hard bounces, complaints and repeated soft bounces add to it.
/// </summary>
public sealed class Suppressions(JourneyDbContext db, TimeProvider time)
{
    /// <summary>Suppresses the address; false when it already was (the first reason stays).</summary>
    public async Task<bool> AddAsync(string address, string reason, string? detail, CancellationToken cancellationToken)
    {
        var normalized = Normalize(address);
        var key = ProfileAddresses.SuppressionKey(normalized);
        var existing = await db.EmailSuppressions.FirstOrDefaultAsync(s => s.AddressHash == key, cancellationToken);
        if (existing is not null)
        {
            if (existing.Address is null)
            {
                existing.Address = normalized;
                await db.SaveChangesAsync(cancellationToken);
            }
            return false;
        }

        var entry = new EmailSuppression { AddressHash = key, Address = normalized, Reason = reason, Detail = detail, At = time.GetUtcNow().UtcDateTime };
        db.EmailSuppressions.Add(entry);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            db.Entry(entry).State = EntityState.Detached;
            if (await db.EmailSuppressions.AsNoTracking().AnyAsync(s => s.AddressHash == key, cancellationToken))
            {
                return false; // suppressed by a concurrent report a moment ago: the same outcome
            }
            throw;
        }
    }

    public async Task<SuppressionResponse?> FindAsync(string address, CancellationToken cancellationToken)
    {
        var key = ProfileAddresses.SuppressionKey(Normalize(address));
        return await db.EmailSuppressions.AsNoTracking().Where(s => s.AddressHash == key)
            .Select(s => new SuppressionResponse(s.Address, s.Reason, s.At, s.Detail)).FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>The newest first.</summary>
    public Task<List<SuppressionResponse>> ListAsync(int limit, CancellationToken cancellationToken) =>
        db.EmailSuppressions.AsNoTracking().OrderByDescending(s => s.At).ThenBy(s => s.AddressHash).Take(limit)
            .Select(s => new SuppressionResponse(s.Address, s.Reason, s.At, s.Detail)).ToListAsync(cancellationToken);

    /// <summary>
    /// Lifts the suppression and forgets the address's soft bounces, or the next one would suppress it again at once.
    /// Consent withdrawn on a profile by an unsubscribe stays withdrawn: that is the person's own setting.
    /// </summary>
    public async Task<bool> RemoveAsync(string address, CancellationToken cancellationToken)
    {
        var key = ProfileAddresses.SuppressionKey(Normalize(address));
        var removed = await db.EmailSuppressions.Where(s => s.AddressHash == key).ExecuteDeleteAsync(cancellationToken);
        await db.EmailFeedback.Where(f => f.AddressHash == key && f.Kind == FeedbackKinds.SoftBounce).ExecuteDeleteAsync(cancellationToken);
        return removed > 0;
    }

    /// <summary>Forgetting a person: their addresses stay suppressed, by hash only.</summary>
    public static Task ForgetAddressesAsync(JourneyDbContext db, IEnumerable<string> addresses, CancellationToken cancellationToken)
    {
        var keys = addresses.Select(a => ProfileAddresses.SuppressionKey(Normalize(a))).Distinct().ToList();
        return keys.Count == 0
            ? Task.CompletedTask
            : db.EmailSuppressions.Where(s => keys.Contains(s.AddressHash) && s.Address != null)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.Address, (string?)null), cancellationToken);
    }

    public static string Normalize(string address) => address.Trim().ToLowerInvariant();
}
