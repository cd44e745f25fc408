using System.Data.Common;
using JourneyWorker.Data.PostgreSql;
using JourneyWorker.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Data;

public static class DatabaseConfiguration
{
    public const string DefaultConnectionString = "Data Source=data/journeyworker.db";

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("Journeys") is { Length: > 0 } cs ? cs : DefaultConnectionString;

    /// <summary>The configured provider, read before the options are bound (start-up commands and the data folder need it).</summary>
    public static StorageProvider Provider(IConfiguration configuration) =>
        Enum.TryParse<StorageProvider>(configuration[$"{StorageOptions.Section}:{nameof(StorageOptions.Provider)}"], ignoreCase: true, out var provider)
            ? provider
            : StorageProvider.Sqlite;

    public static IServiceCollection AddJourneyDatabase(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DataDirectory>();
        services.AddSingleton<SqlitePragmaInterceptor>();
        services.AddSingleton<WriteGate>();
        services.AddSingleton(sp => JourneyConnections.Create(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value, ConnectionString(sp.GetRequiredService<IConfiguration>()),
            sp.GetRequiredService<IHostEnvironment>().ContentRootPath));

        // Options built once (they only use singletons), not for every scope: the intake writer and the
        // runner create a context per batch, and building the options was a visible share of that.
        services.AddSingleton(sp => new DbContextOptionsBuilder<JourneyDbContext>()
            .UseSqlite(sp.GetRequiredService<JourneyConnections>().ConnectionString)
            .AddInterceptors(sp.GetRequiredService<SqlitePragmaInterceptor>()).Options);
        services.AddSingleton(sp => new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>()
            .UseNpgsql(sp.GetRequiredService<JourneyConnections>().DataSource!).Options);
        services.AddScoped(sp => sp.GetRequiredService<JourneyConnections>().Provider == StorageProvider.PostgreSql
            ? new PostgreSqlJourneyDbContext(sp.GetRequiredService<DbContextOptions<PostgreSqlJourneyDbContext>>())
            : new JourneyDbContext(sp.GetRequiredService<DbContextOptions<JourneyDbContext>>()));
        services.AddHostedService<DatabaseMigrator>();
        return services;
    }
}

/// <summary>Per-connection settings SQLite does not keep in the file.</summary>
public sealed class SqlitePragmaInterceptor(IOptions<StorageOptions> storage) : DbConnectionInterceptor
{
    private readonly string _sql =
        $"PRAGMA synchronous={storage.Value.Synchronous.ToUpperInvariant()}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout={(int)storage.Value.BusyTimeout.TotalMilliseconds};";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    public void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _sql;
        command.ExecuteNonQuery();
    }
}

/// <summary>
/// Applies migrations and switches the file to WAL before anything else runs: it is registered
/// first among hosted services, and hosted services start in order.
/// </summary>
public sealed partial class DatabaseMigrator(IServiceProvider services, ILogger<DatabaseMigrator> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JourneyDbContext>();
        // Several workers starting at once on one PostgreSQL database take turns (see JourneyMigrations).
        await JourneyMigrations.ApplyAsync(db.Database, cancellationToken);
        if (db.Database.IsSqlite())
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        LogMigrated(logger, db.Database.ProviderName ?? "", db.Database.GetDbConnection().DataSource);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Database ready ({Provider}) at {DataSource}")]
    private static partial void LogMigrated(ILogger logger, string provider, string dataSource);
}
