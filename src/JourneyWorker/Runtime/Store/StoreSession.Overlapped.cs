using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace JourneyWorker.Runtime.Store;

/// <summary>A write whose COMMIT is left in flight, so that its caller can start the next transaction on another session.</summary>
public sealed partial class StoreSession
{
    /// <summary>
    /// As <see cref="WriteAsync{T}(Func{StoreTransaction, Task{T}}, CancellationToken)"/>, but returns once the COMMIT is sent, with the task of its answer: the caller may run its
    /// next transaction on another session meanwhile (<see cref="InstanceStore.OverlapsCommits"/>), and must not use this
    /// session again before that task completes. A transaction that made work due still commits inside the write gate:
    /// the poller counts a write when the gate is released and must then find its work.
    /// </summary>
    public async Task<(T Result, Task Committed)> WriteUntilCommitAsync<T>(Func<StoreTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        Task committed = Task.CompletedTask;
        var result = await _gate.RunAsync(async () =>
        {
            var transaction = await Db.Database.BeginTransactionAsync(cancellationToken);
            try
            {
                var tx = new StoreTransaction(Db, transaction.GetDbTransaction(), _catalog, _sql);
                var value = await work(tx);
                await tx.BeforeCommitAsync(cancellationToken);
                if (tx.MadeWorkDue)
                {
                    await transaction.CommitAsync(cancellationToken);
                    await EndAsync(transaction);
                }
                else
                {
                    committed = CommitAsync(transaction, cancellationToken);
                }
                return value;
            }
            catch
            {
                await EndAsync(transaction);
                throw;
            }
        }, cancellationToken);
        return (result, committed);
    }

    private async Task CommitAsync(IDbContextTransaction transaction, CancellationToken cancellationToken)
    {
        try
        {
            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            await EndAsync(transaction);
        }
    }

    private async Task EndAsync(IDbContextTransaction transaction)
    {
        await transaction.DisposeAsync();
        // A kept session must not grow: nothing tracked survives a commit.
        Db.ChangeTracker.Clear();
    }
}
