using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace JourneyWorker.Data.PostgreSql;

/// <summary>The journeys' model on PostgreSQL: the same entities and indexes, with a migration set of its own.</summary>
public sealed class PostgreSqlJourneyDbContext(DbContextOptions<PostgreSqlJourneyDbContext> options) : JourneyDbContext(options);

/// <summary>Lets `dotnet ef migrations add … --context PostgreSqlJourneyDbContext` build the model; it connects to nothing.</summary>
public sealed class PostgreSqlDesignTimeDbContextFactory : IDesignTimeDbContextFactory<PostgreSqlJourneyDbContext>
{
    public PostgreSqlJourneyDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>().UseNpgsql("Host=localhost;Database=journeyworker").Options);
}
