using System.Text.Json;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime.Store;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Profiles;

/// <summary>
/// <c>POST /api/profiles/import</c> and, for long imports (<c>Prefer: respond-async</c>), <c>GET /api/imports/{id}</c>.
/// A long import still reads its body from the request that brings it (there is nowhere else to read it from): the 202
/// with the import's Location is sent first, and the request goes on until the body ends, its progress stored with
/// every batch.
/// </summary>
public static partial class ImportEndpoints
{
    public static WebApplication MapImports(this WebApplication app)
    {
        app.MapGet("/api/imports/{id}", GetAsync).WithTags("Profiles").WithName("GetImport")
            .RequireAuthorization(ApiKeyAuthenticationExtensions.AdminPolicy)
            .WithSummary("Follow a long import")
            .WithDescription("""
                The progress of an import sent with `Prefer: respond-async`: `status` (running, completed, failed, interrupted — the
                service stopped or the client went away before the end of the body), lines `processed`, `imported` and `failed` as of
                the last batch written, `ratePerSecond` (lines), `etaSeconds` while running when the body's length was announced,
                and the first 1000 line `errors`. An import cut off by a restart keeps the counts of what was written.
                """)
            .Problem(StatusCodes.Status404NotFound, "No import has this id.");
        return app;
    }

    /// <summary>Whether the client asked for the asynchronous answer (RFC 7240 <c>Prefer: respond-async</c>).</summary>
    public static bool WantsAsync(HttpRequest request) =>
        request.Headers["Prefer"].Any(v => v?.Split(',').Any(p => p.Trim().Equals("respond-async", StringComparison.OrdinalIgnoreCase)) == true);

    internal static async Task<Results<Ok<ImportResponse>, EmptyHttpResult>> ImportAsync(
        HttpContext context, ProfileImporter importer, IOptions<ImportOptions> options, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.Value.MaxBytes;
        }
        if (!WantsAsync(context.Request))
        {
            return TypedResults.Ok(await importer.ImportAsync(context.Request.BodyReader, null, cancellationToken));
        }

        var services = context.RequestServices;
        await RunAsync(context, importer, options, services.GetRequiredService<ImportRuns>(), services.GetRequiredService<JourneyDbContext>(),
            services.GetRequiredService<InstanceStore>(), services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ImportEndpoints)), cancellationToken);
        return TypedResults.Empty;
    }

    /// <summary>
    /// The long import: its row stored as running, the 202 sent, the body imported batch by batch (each batch storing the
    /// counts), and the end stored: completed, failed (the database gave up), or interrupted (the client went away, the
    /// service is stopping).
    /// </summary>
    private static async Task RunAsync(
        HttpContext context, ProfileImporter importer, IOptions<ImportOptions> options, ImportRuns runs, JourneyDbContext db, InstanceStore store, TimeProvider time,
        JsonSerializerOptions json, ILogger logger, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var row = new ProfileImport
        {
            Id = Guid.CreateVersion7(), Status = ImportStatuses.Running, Owner = runs.Owner, TotalBytes = context.Request.ContentLength,
            StartedAt = now, UpdatedAt = now,
        };
        await store.WriteAsync(db, async _ =>
        {
            db.ProfileImports.Add(row);
            return await db.SaveChangesAsync(cancellationToken);
        }, cancellationToken);
        db.ChangeTracker.Clear();
        var run = new ImportRun(row.Id, now, row.TotalBytes);
        runs.Started(run);
        try
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            context.Response.Headers.Location = $"/api/imports/{row.Id}";
            context.Response.Headers["Preference-Applied"] = "respond-async";
            context.Response.ContentType = "application/json; charset=utf-8";
            await JsonSerializer.SerializeAsync(context.Response.Body, runs.Describe(row, now), json, cancellationToken);
            await context.Response.Body.FlushAsync(cancellationToken);

            var (status, reason) = (ImportStatuses.Completed, (string?)null);
            try
            {
                await importer.ImportAsync(context.Request.BodyReader, run, cancellationToken);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                (status, reason) = (ImportStatuses.Failed, $"The body is larger than Import:MaxBytes ({options.Value.MaxBytes} bytes); the lines before the limit were imported.");
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException)
            {
                (status, reason) = (ImportStatuses.Interrupted, $"The body ended early: {e.Message}");
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                LogImportFailed(logger, row.Id, e);
                (status, reason) = (ImportStatuses.Failed, $"The import could not go on: {e.Message}");
            }
            await FinishAsync(db, store, run, status, reason, time, CancellationToken.None);
        }
        finally
        {
            runs.Ended(row.Id);
        }
    }

    /// <summary>Stores how the import ended; runs even while the request is aborted, so that a stop leaves "interrupted", not "running".</summary>
    private static async Task FinishAsync(
        JourneyDbContext db, InstanceStore store, ImportRun run, string status, string? reason, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await store.WriteAsync(db, async _ => await db.ProfileImports.Where(i => i.Id == run.Id).ExecuteUpdateAsync(s => s
            .SetProperty(i => i.Status, status).SetProperty(i => i.Reason, reason)
            .SetProperty(i => i.UpdatedAt, now).SetProperty(i => i.FinishedAt, now), cancellationToken), cancellationToken);
    }

    private static async Task<Results<Ok<ImportStatusResponse>, ProblemHttpResult>> GetAsync(
        string id, JourneyDbContext db, ImportRuns runs, InstanceStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var stored = Guid.TryParse(id, out var key)
            ? await db.ProfileImports.AsNoTracking().FirstOrDefaultAsync(i => i.Id == key, cancellationToken)
            : null;
        if (stored is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "Import not found", detail: $"No import has the id '{id}'.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        if (stored.Status == ImportStatuses.Running && runs.Running(stored.Id) is null && runs.IsGone(stored.Owner))
        {
            // Its host stopped without saying so (a crash, a kill): what it stored is what was written.
            const string Reason = "The service stopped before the end of the body.";
            await store.WriteAsync(db, async _ => await db.ProfileImports
                .Where(i => i.Id == stored.Id && i.Status == ImportStatuses.Running)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.Status, ImportStatuses.Interrupted).SetProperty(i => i.Reason, Reason)
                    .SetProperty(i => i.FinishedAt, stored.UpdatedAt), cancellationToken), cancellationToken);
            (stored.Status, stored.Reason, stored.FinishedAt) = (ImportStatuses.Interrupted, Reason, stored.UpdatedAt);
        }
        return TypedResults.Ok(runs.Describe(stored, now));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Import {Id} failed")]
    private static partial void LogImportFailed(ILogger logger, Guid id, Exception exception);
}
