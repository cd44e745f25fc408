using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace JourneyWorker.Data;

/// <summary>Lets `dotnet ef` build the model without starting the host (and its keys, schedules and senders).</summary>
public sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<JourneyDbContext>
{
    public JourneyDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<JourneyDbContext>().UseSqlite(DatabaseConfiguration.DefaultConnectionString).Options);
}
