using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace JourneyWorker.Data;

/// <summary>
/// Applies the migrations, one process at a time on PostgreSQL. EF Core's own migration lock there (LOCK TABLE on the
/// history table) lives in each migration's transaction: it is let go at every commit, and a migrator decides which
/// migrations are pending before it waits for the lock. Workers started together on an empty database then apply the
/// same migration twice, and the loser stops at start with 42P07 (relation already exists). A session-level advisory
/// lock held around the whole run makes the second worker find everything applied.
/// </summary>
public static class JourneyMigrations
{
    // Advisory locks are per database: the key only needs to be unlikely to collide with another application's.
    private const string Lock = "SELECT pg_advisory_lock(5356414617447041350)";
    private const string Unlock = "SELECT pg_advisory_unlock(5356414617447041350)";

    public static async Task ApplyAsync(DatabaseFacade database, CancellationToken cancellationToken)
    {
        if (!database.IsNpgsql())
        {
            await database.MigrateAsync(cancellationToken);
            return;
        }

        // One connection for the lock and the migrations: the lock belongs to the session, not to a transaction.
        await database.OpenConnectionAsync(cancellationToken);
        try
        {
            await database.ExecuteSqlRawAsync(Lock, cancellationToken);
            try
            {
                await database.MigrateAsync(cancellationToken);
            }
            finally
            {
                // Explicitly: a pooled connection is only reset when it is next used, so closing would not let go of it.
                try
                {
                    await database.ExecuteSqlRawAsync(Unlock, CancellationToken.None);
                }
                catch (DbException)
                {
                    // The connection broke: its session, and the lock with it, is gone.
                }
            }
        }
        finally
        {
            await database.CloseConnectionAsync();
        }
    }
}
