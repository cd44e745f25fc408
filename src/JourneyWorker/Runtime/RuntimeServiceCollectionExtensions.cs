using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;
using Quartz;

namespace JourneyWorker.Runtime;

public static class RuntimeServiceCollectionExtensions
{
    public static IServiceCollection AddRuntime(this IServiceCollection services)
    {
        services.AddOptions<RuntimeOptions>().BindConfiguration(RuntimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<JourneyCatalog>();
        services.AddSingleton<InstanceSql>(sp => sp.GetRequiredService<JourneyConnections>().Provider == StorageProvider.PostgreSql
            ? new PostgreSqlInstanceSql()
            : new SqliteInstanceSql());
        services.AddSingleton<InstanceStore>();
        services.AddSingleton<InstanceRunner>();
        services.AddSingleton<InstancePoller>();
        services.AddSingleton<AudienceReader>();
        services.AddSingleton<MessageDispatcher>();
        services.AddSingleton<ReactionService>();

        // Quartz keeps its store in memory: the durable state is our own tables. It runs on the
        // container's TimeProvider, the engine's clock, so triggers are built from that clock too.
        services.AddQuartz();
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddSingleton<JourneySchedules>();
        services.AddHostedService(sp => sp.GetRequiredService<JourneySchedules>());
        return services;
    }
}
