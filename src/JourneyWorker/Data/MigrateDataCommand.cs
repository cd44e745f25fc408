using System.Data.Common;
using System.Diagnostics;
using JourneyWorker.Data.PostgreSql;
using JourneyWorker.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace JourneyWorker.Data;

/// <summary>
/// `JourneyWorker migrate-data --to "&lt;PostgreSQL connection string&gt;" [--Key=Value ...]`: moves the SQLite
/// database the service is configured with into an empty PostgreSQL database, ids and all, so that workers
/// started on PostgreSQL carry on every running journey (and every tracking link already sent keeps working).
/// It reads the same configuration as the service, so it finds the same file. Exit code 0 once the copy is
/// committed with equal counts on both sides; anything else rolls it back and leaves the target without a row.
/// </summary>
public static class MigrateDataCommand
{
    public const string Name = "migrate-data";

    private const string Usage = """
        usage: JourneyWorker migrate-data --to "<PostgreSQL connection string>" [--ConnectionStrings:Journeys=...] [--Key=Value ...]

        Copies the service's SQLite database (found through the same configuration as the service) into an empty
        PostgreSQL database: applies the PostgreSQL migrations, copies every table with its ids in one transaction,
        moves the id sequences past the copied ids, checks the row counts of every table and commits only if they
        are equal. A target that already holds rows is refused. Instance leases are not copied, so that running
        journeys are picked up by the first worker on PostgreSQL.

        Stop every worker on the SQLite database first (what they write after the copy began is not copied), then
        start the workers with Storage:Provider=PostgreSql and ConnectionStrings:Journeys set to the target.

        example: JourneyWorker migrate-data --to "Host=db.internal;Database=journeyworker;Username=journeyworker;Password=..."
        """;

    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == Name;

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        var rest = args.Skip(1).ToList();
        if (rest.Any(a => a is "--help" or "-h" or "-?"))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        if (TakeTarget(rest) is not { Length: > 0 } target)
        {
            await output.WriteLineAsync(Usage);
            return 2;
        }

        var builder = Host.CreateApplicationBuilder([.. rest]);
        if (DatabaseConfiguration.Provider(builder.Configuration) != StorageProvider.Sqlite)
        {
            await output.WriteLineAsync($"{Name}: the source is the configured SQLite database, but Storage:Provider is "
                + $"{DatabaseConfiguration.Provider(builder.Configuration)}; run it with the configuration the SQLite service used (or add --Storage:Provider=Sqlite).");
            return 2;
        }
        NpgsqlConnectionStringBuilder targetConnection;
        try
        {
            // Error details (the offending key of a violated constraint) are what someone fixing a failed copy needs to see;
            // a copy of a large table or a count over it may take longer than a command usually does.
            targetConnection = new NpgsqlConnectionStringBuilder(target) { IncludeErrorDetail = true, CommandTimeout = 0 };
        }
        catch (ArgumentException e)
        {
            await output.WriteLineAsync($"{Name}: --to is not a PostgreSQL connection string: {e.Message}");
            return 2;
        }
        var sourcePath = SqlitePath(builder);
        if (sourcePath is null || !File.Exists(sourcePath))
        {
            await output.WriteLineAsync($"{Name}: no SQLite database at {sourcePath ?? "(in memory)"}");
            return 1;
        }

        return await CopyAsync(sourcePath, targetConnection, output, cancellationToken);
    }

    private static async Task<int> CopyAsync(string sourcePath, NpgsqlConnectionStringBuilder targetConnection, TextWriter output, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await output.WriteLineAsync($"{Name}: {sourcePath} -> PostgreSQL database {targetConnection.Database ?? targetConnection.Username} "
            + $"on {targetConnection.Host}:{targetConnection.Port}");
        SqliteSource? opened = null;
        string? problem;
        try
        {
            opened = await SqliteSource.OpenAsync(sourcePath, cancellationToken);
            problem = await opened.SchemaProblemAsync(cancellationToken);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            problem = e.Message;
        }
        await using var source = opened;
        if (problem is not null)
        {
            await output.WriteLineAsync($"{Name}: cannot copy {sourcePath}: {problem}.");
            return 1;
        }

        await using var dataSource = new NpgsqlDataSourceBuilder(targetConnection.ConnectionString).Build();
        var target = new PostgreSqlTarget(dataSource, Plan(), output);
        try
        {
            return await CopyAsync(source!, target, output, clock, cancellationToken);
        }
        catch (Exception e) when (e is DbException or FormatException or InvalidCastException or OverflowException or InvalidOperationException or IOException or TimeoutException)
        {
            await output.WriteLineAsync($"{Name}: failed while {target.Step}: {Describe(e)}");
            await output.WriteLineAsync($"{Name}: no row was written to the target.");
            return 1;
        }
    }

    private static async Task<int> CopyAsync(SqliteSource source, PostgreSqlTarget target, TextWriter output, Stopwatch clock, CancellationToken cancellationToken)
    {
        if (await target.FirstTableWithRowsAsync(cancellationToken) is { } before)
        {
            await output.WriteLineAsync(Refusal(before));
            return 1;
        }
        if (await target.MigrateAsync(cancellationToken) is > 0 and var migrations)
        {
            await output.WriteLineAsync($"{Name}: applied {migrations} PostgreSQL migrations");
        }

        source.BeginSnapshot();
        var sourceCounts = new Dictionary<string, long>();
        foreach (var table in target.Plan)
        {
            sourceCounts[table.Table] = await source.CountAsync(table.Table, cancellationToken);
        }
        if (await source.LiveLeasesAsync(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), cancellationToken) is > 0 and var leased)
        {
            await output.WriteLineAsync($"{Name}: warning: instances leased right now: {leased:N0}; if a worker still runs on {source.Path}, "
                + "what it writes from now on is not copied (stop it, then run again into an empty database).");
        }

        await output.WriteLineAsync($"{Name}: copying {sourceCounts.Values.Sum():N0} rows in one transaction");
        var result = await target.CopyAsync(source, sourceCounts, cancellationToken);
        if (result.TableWithRows is { } tableWithRows)
        {
            await output.WriteLineAsync(Refusal(tableWithRows));
            return 1;
        }
        await WriteCountsAsync(output, result.Counts);
        if (!result.Committed)
        {
            var wrong = result.Counts.First(c => !c.Matches);
            await output.WriteLineAsync($"{Name}: {wrong.Table}: {wrong.Source:N0} rows in SQLite, {wrong.Copied:N0} copied, {wrong.Target:N0} in PostgreSQL; "
                + "rolled back, no row was written to the target.");
            return 1;
        }
        var rows = result.Counts.Sum(c => c.Target);
        await output.WriteLineAsync($"{Name}: done, {rows:N0} rows in {clock.Elapsed.TotalSeconds:F1} s "
            + $"({CopyProgress.RowsPerSecond(rows, clock.Elapsed):N0} rows/s). Start the workers with Storage:Provider=PostgreSql "
            + "and ConnectionStrings:Journeys set to the target.");
        return 0;
    }

    private static IReadOnlyList<TableCopy> Plan()
    {
        // The model needs no connection (one passed in would make EF build its internal services anew for every data source).
        using var model = new PostgreSqlJourneyDbContext(new DbContextOptionsBuilder<PostgreSqlJourneyDbContext>().UseNpgsql().Options);
        return DataCopyPlan.For(model.Model);
    }

    /// <summary>Takes `--to VALUE` or `--to=VALUE` out of the arguments; what remains is configuration, as for the service.</summary>
    private static string? TakeTarget(List<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--to" && i + 1 < args.Count)
            {
                var value = args[i + 1];
                args.RemoveRange(i, 2);
                return value;
            }
            if (args[i].StartsWith("--to=", StringComparison.Ordinal))
            {
                var value = args[i]["--to=".Length..];
                args.RemoveAt(i);
                return value;
            }
        }
        return null;
    }

    /// <summary>The file the service would open: relative names resolve against the content root.</summary>
    private static string? SqlitePath(HostApplicationBuilder builder)
    {
        var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(DatabaseConfiguration.ConnectionString(builder.Configuration)).DataSource;
        return string.IsNullOrEmpty(file) || file == ":memory:" ? null : Path.GetFullPath(file, builder.Environment.ContentRootPath);
    }

    private static string Refusal(string table) =>
        $"{Name}: refused: the target already holds data (table {table} has rows). migrate-data fills an empty database only; "
        + "nothing was written.";

    private static string Describe(Exception e) => e switch
    {
        PostgresException p => $"{p.MessageText}{(p.Detail is { Length: > 0 } d ? $" ({d})" : "")} [{p.SqlState}]",
        _ when e.InnerException is PostgresException inner => Describe(inner),
        _ => e.Message,
    };

    private static async Task WriteCountsAsync(TextWriter output, IReadOnlyList<TableCount> counts)
    {
        var width = Math.Max("table".Length, counts.Max(c => c.Table.Length));
        await output.WriteLineAsync($"{"table".PadRight(width)}  {"SQLite",12}  {"PostgreSQL",12}");
        foreach (var count in counts)
        {
            await output.WriteLineAsync(FormattableString.Invariant(
                $"{count.Table.PadRight(width)}  {count.Source,12:N0}  {count.Target,12:N0}{(count.Matches ? "" : "  MISMATCH")}"));
        }
    }
}
