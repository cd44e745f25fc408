using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Microsoft.Extensions.Options;
using Quartz;

namespace JourneyWorker.Runtime;

public static class RuntimeServiceCollectionExtensions
{
    public static IServiceCollection AddRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RuntimeOptions>().BindConfiguration(RuntimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<JourneyCatalog>();
        services.AddSingleton<InstanceSql>(sp => sp.GetRequiredService<JourneyConnections>().Provider == StorageProvider.PostgreSql
            ? new PostgreSqlInstanceSql { CounterShard = PostgreSqlInstanceSql.ShardOf(sp.GetRequiredService<IOptions<RuntimeOptions>>().Value.WorkerId) }
            : new SqliteInstanceSql());
        services.AddSingleton<InstanceStore>();
        services.AddSingleton<InstanceRunner>();
        services.AddSingleton<InstancePoller>();
        services.AddSingleton<AudienceReader>();
        services.AddSingleton<MessageDispatcher>();
        services.AddSingleton<ProfileTimeZones>();
        services.AddSingleton<ReactionService>();

        // Every process polls on its own: the poller's scheduler keeps its store in memory, on either provider.
        // It runs on the container's TimeProvider, the engine's clock, so triggers are built from that clock too.
        services.AddQuartz();
        if (DatabaseConfiguration.Provider(configuration) == StorageProvider.PostgreSql)
        {
            // Read Audience schedules fire once across all workers: Quartz's clustered ADO store on the same
            // PostgreSQL database (its tables come with the migrations). A worker that dies mid-read has its
            // firing recovered by another after the check-in threshold.
            services.AddQuartz(JourneySchedules.ClusteredScheduler, q =>
            {
                q.ConfigureScheduler(o => o.GenerateInstanceId = true);
                q.UsePersistentStore(store =>
                {
                    store.UsePostgres(source => source.ConnectionStringName = "Journeys");
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = TimeSpan.FromSeconds(7.5);
                        cluster.CheckinMisfireThreshold = TimeSpan.FromSeconds(15);
                    });
                    store.UseSystemTextJsonSerializer();
                    store.ConfigureStore(o => o.StoreJobDataAsStrings = true);
                });
            });
        }
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddHostedService<DueNotifications>();
        services.AddSingleton<JourneySchedules>();
        services.AddHostedService(sp => sp.GetRequiredService<JourneySchedules>());
        return services;
    }
}
