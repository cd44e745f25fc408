using JourneyWorker.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Data;

public static class SqlDialects
{
    /// <summary>The SQL dialect of the provider the context runs on; any other provider is refused rather than guessed.</summary>
    public static SqlDialect Of(JourneyDbContext db)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.IsSqlite())
        {
            return SqlDialect.Sqlite;
        }
        if (db.Database.IsNpgsql())
        {
            return SqlDialect.PostgreSql;
        }
        throw new NotSupportedException($"No SQL dialect for the database provider '{db.Database.ProviderName}'.");
    }

    public static SqlDialect Dialect(this JourneyDbContext db) => Of(db);
}
