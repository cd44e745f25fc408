using JourneyWorker.Data;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// The folder that holds the SQLite file (data/ under the content root on PostgreSQL); generated keys and the
/// outbox pickup folders default beside it.
/// </summary>
public sealed class DataDirectory
{
    public DataDirectory(IConfiguration configuration, IHostEnvironment environment)
    {
        var file = DatabaseConfiguration.Provider(configuration) == StorageProvider.Sqlite
            ? new SqliteConnectionStringBuilder(DatabaseConfiguration.ConnectionString(configuration)).DataSource
            : null;
        Path = string.IsNullOrEmpty(file) || file == ":memory:"
            ? System.IO.Path.Combine(environment.ContentRootPath, "data")
            : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file, environment.ContentRootPath))!;
    }

    public string Path { get; }

    public string Resolve(string relativeOrAbsolute) => System.IO.Path.GetFullPath(relativeOrAbsolute, Path);
}
