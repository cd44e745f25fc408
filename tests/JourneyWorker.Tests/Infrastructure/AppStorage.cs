using JourneyWorker.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// Whether this build of the app stores on PostgreSQL when <c>Storage:Provider</c> says so, asked of
/// the app's own database registration once per test run. A build without the provider reads every
/// connection string as SQLite's and rejects an Npgsql one; the PostgreSQL pass then hosts on SQLite
/// (see <see cref="TestDatabase"/>) instead of failing every test for a reason none of them is about.
/// </summary>
public static class AppStorage
{
    // Asked on the thread pool and waited for: the registration's services may only dispose asynchronously.
    private static readonly Lazy<bool> Answer = new(() =>
    {
        var answer = Task.Run(ProbeAsync).GetAwaiter().GetResult();
        if (!answer)
        {
            Console.Error.WriteLine("note: this build of the app cannot store on PostgreSQL; the PostgreSQL pass hosts on SQLite");
        }
        return answer;
    });

    public static bool StoresOnPostgreSql => Answer.Value;

    private static async Task<bool> ProbeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:Journeys"] = "Host=127.0.0.1;Database=probe",
        }).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = "Testing", ApplicationName = "JourneyWorker", ContentRootPath = AppContext.BaseDirectory });
        services.AddJourneyDatabase();
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        try
        {
            // Only the context's options: nothing connects.
            return scope.ServiceProvider.GetRequiredService<JourneyDbContext>().Database.IsNpgsql();
        }
        catch (ArgumentException e) when (e.TargetSite?.DeclaringType == typeof(SqliteConnectionStringBuilder))
        {
            return false; // "Connection string keyword 'host' is not supported": the Npgsql connection string went to SQLite
        }
    }
}
