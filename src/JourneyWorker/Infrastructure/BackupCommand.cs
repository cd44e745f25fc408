using JourneyWorker.Data;
using Microsoft.Data.Sqlite;

namespace JourneyWorker.Infrastructure;

/// <summary>
/// `JourneyWorker backup FILE [--Key=Value ...]`: an online, consistent copy of the database made
/// with SQLite's backup API while the service keeps running (WAL readers do not block writers).
/// It reads the same configuration as the service, so it finds the same database file.
/// </summary>
public static class BackupCommand
{
    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == "backup";

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null)
    {
        output ??= Console.Out;
        if (args.Length < 2 || args[1].StartsWith("--", StringComparison.Ordinal))
        {
            await output.WriteLineAsync("usage: JourneyWorker backup <file> [--ConnectionStrings:Journeys=...]");
            return 2;
        }

        var builder = Host.CreateApplicationBuilder(args[2..]);
        if (DatabaseConfiguration.Provider(builder.Configuration) != StorageProvider.Sqlite)
        {
            await output.WriteLineAsync("backup: this command copies a SQLite database; back PostgreSQL up with its own tools (pg_dump, or a base backup with WAL archiving).");
            return 2;
        }
        var source = new SqliteConnectionStringBuilder(DatabaseConfiguration.ConnectionString(builder.Configuration));
        source.DataSource = Path.GetFullPath(source.DataSource, builder.Environment.ContentRootPath);
        if (!File.Exists(source.DataSource))
        {
            await output.WriteLineAsync($"backup: no database at {source.DataSource}");
            return 1;
        }

        source.Mode = SqliteOpenMode.ReadOnly;
        source.Pooling = false;
        source.DefaultTimeout = 60;
        var target = Path.GetFullPath(args[1]);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Written beside the target and renamed, so that a failed backup never leaves a half-written file under the final name.
        var partial = target + ".partial";
        File.Delete(partial);
        await using (var from = new SqliteConnection(source.ToString()))
        await using (var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = partial, Pooling = false }.ToString()))
        {
            await from.OpenAsync();
            await to.OpenAsync();
            from.BackupDatabase(to);
            await using var mode = to.CreateCommand();
            // The copy is a self-contained file: no WAL beside it, so that "copy it over the database" is the whole restore.
            mode.CommandText = "PRAGMA journal_mode=DELETE;";
            await mode.ExecuteNonQueryAsync();
            await using var check = to.CreateCommand();
            check.CommandText = "PRAGMA integrity_check;";
            var result = (string?)await check.ExecuteScalarAsync();
            if (result != "ok")
            {
                await output.WriteLineAsync($"backup: integrity check of the copy failed: {result}");
                return 1;
            }
        }

        File.Move(partial, target, overwrite: true);
        await output.WriteLineAsync($"backup: {source.DataSource} -> {target} ({new FileInfo(target).Length} bytes)");
        return 0;
    }
}
