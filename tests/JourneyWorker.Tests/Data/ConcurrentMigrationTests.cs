using JourneyWorker.Data;
using JourneyWorker.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Data;

/// <summary>
/// Workers started together on an empty PostgreSQL database each apply the migrations at start. Needs
/// JOURNEYWORKER_TEST_POSTGRES (see <see cref="PostgreSqlDatabase"/>); skipped without it.
/// </summary>
public sealed class ConcurrentMigrationTests
{
    [Fact]
    public async Task Workers_migrating_an_empty_PostgreSQL_database_at_once_all_succeed_and_each_migration_is_applied_once()
    {
        await using var pg = await PostgreSqlDatabase.CreateAsync(Ct);
        // Each on a context and connection of its own, as separate processes would be.
        var workers = Enumerable.Range(0, 4).Select(_ => pg.Db()).ToList();
        try
        {
            await Task.WhenAll(workers.Select(db => Task.Run(() => JourneyMigrations.ApplyAsync(db.Database, Ct), Ct)));
        }
        finally
        {
            foreach (var db in workers)
            {
                await db.DisposeAsync();
            }
        }

        await using var check = pg.Db();
        Assert.Empty(await check.Database.GetPendingMigrationsAsync(Ct));
        Assert.Equal(check.Database.GetMigrations(), await check.Database.GetAppliedMigrationsAsync(Ct));
        // The lock is let go: one more start migrates (nothing) without waiting.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await JourneyMigrations.ApplyAsync(check.Database, timeout.Token);
    }
}
