using System.Threading.Channels;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using Microsoft.Extensions.Options;
using Quartz;

namespace JourneyWorker.Runtime;

/// <summary>
/// Workers wake each other on PostgreSQL: every store transaction that made work due now (an admission, a resume by an
/// event or a reaction) sends NOTIFY on <see cref="Channel"/> with its commit, and every worker LISTENs on a session
/// of its own and polls at once, so event-to-step latency does not depend on which process took the request. Bursts
/// coalesce into one extra poll; the scheduled poll (and its 5 s recheck) stays the fallback should a notification be
/// lost with a connection. On SQLite there is one writer per file and nothing to listen to.
/// </summary>
public sealed partial class DueNotifications(
    JourneyConnections connections,
    InstancePoller poller,
    ISchedulerFactory schedulers,
    IOptions<RuntimeOptions> options,
    TimeProvider time,
    ILogger<DueNotifications> logger) : BackgroundService
{
    public const string Channel = Store.PostgreSqlInstanceSql.DueChannel;

    private readonly Channel<bool> _kicks = System.Threading.Channels.Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (connections.DataSource is not { } source || !options.Value.Enabled)
        {
            return;
        }
        await Task.WhenAll(ListenAsync(source, stoppingToken), PollOnKickAsync(stoppingToken));
    }

    private async Task ListenAsync(Npgsql.NpgsqlDataSource source, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await source.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, _) => Kick();
                await using (var listen = connection.CreateCommand())
                {
                    listen.CommandText = $"LISTEN {Channel}";
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                // What was committed while no session listened is found by this look.
                Kick();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogListenFailed(logger, e);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private void Kick()
    {
        poller.Wake();
        _kicks.Writer.TryWrite(true);
    }

    /// <summary>One poll per burst: the poll job does not run twice at once, so a kick during a poll queues at most one more.</summary>
    private async Task PollOnKickAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var _ in _kicks.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    var scheduler = await schedulers.GetScheduler(stoppingToken);
                    await scheduler.TriggerJob(PollDueInstancesJob.Key, stoppingToken);
                }
                catch (SchedulerException e)
                {
                    // Starting or stopping: the scheduled poll covers it.
                    LogKickFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A poll asked for by a notification could not be triggered")]
    private static partial void LogKickFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for due work failed; listening again in a second (the scheduled poll goes on meanwhile)")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
