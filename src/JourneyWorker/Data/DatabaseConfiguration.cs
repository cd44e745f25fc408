using System.Data.Common;
using JourneyWorker.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Data;

public static class DatabaseConfiguration
{
    public const string DefaultConnectionString = "Data Source=data/journeyworker.db";

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("Journeys") is { Length: > 0 } cs ? cs : DefaultConnectionString;

    public static IServiceCollection AddJourneyDatabase(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DataDirectory>();
        services.AddSingleton<SqlitePragmaInterceptor>();
        services.AddSingleton<WriteGate>();
        services.AddSingleton(sp => new JourneyConnectionString(
            Absolutize(ConnectionString(sp.GetRequiredService<IConfiguration>()), sp.GetRequiredService<IHostEnvironment>().ContentRootPath,
                sp.GetRequiredService<IOptions<StorageOptions>>().Value)));
        // Options once (they only use singletons), not rebuilt for every scope: the intake writer and the
        // runner create a context per batch, and building the options was a visible share of that.
        services.AddDbContext<JourneyDbContext>((sp, options) => options
            .UseSqlite(sp.GetRequiredService<JourneyConnectionString>().Value)
            .AddInterceptors(sp.GetRequiredService<SqlitePragmaInterceptor>()),
            contextLifetime: ServiceLifetime.Scoped, optionsLifetime: ServiceLifetime.Singleton);
        services.AddHostedService<DatabaseMigrator>();
        return services;
    }

    /// <summary>Relative file names resolve against the content root, and the folder is created, so the default works from any start directory.</summary>
    private static string Absolutize(string connectionString, string contentRoot, StorageOptions storage)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode != SqliteOpenMode.Memory && !string.IsNullOrEmpty(builder.DataSource) && builder.DataSource != ":memory:")
        {
            builder.DataSource = Path.GetFullPath(builder.DataSource, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
        }
        builder.DefaultTimeout = (int)storage.BusyTimeout.TotalSeconds;
        builder.Pooling = true;
        return builder.ToString();
    }
}

public sealed record JourneyConnectionString(string Value);

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
        await db.Database.MigrateAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        LogMigrated(logger, db.Database.GetDbConnection().DataSource);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Database ready at {DataSource}")]
    private static partial void LogMigrated(ILogger logger, string dataSource);
}
