using System.Text.Json;
using FluentValidation;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Profiles;

/// <summary>
/// Streams an NDJSON body into profiles: every valid line is kept, every bad line is reported with
/// its number. Lines are committed in batches so that memory stays flat whatever the body size.
/// </summary>
public sealed class ProfileImporter(
    JourneyDbContext db,
    ProfileService profiles,
    IValidator<ProfileRequest> validator,
    IOptions<JsonOptions> json,
    IOptions<ImportOptions> options)
{
    private const int BatchSize = 500;
    private const int MaxReportedErrors = 1000;

    public async Task<ImportResponse> ImportAsync(System.IO.Pipelines.PipeReader body, CancellationToken cancellationToken)
    {
        var imported = 0;
        var failed = 0;
        var errors = new List<ImportError>();
        var inBatch = 0;
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            await foreach (var line in NdjsonLineReader.ReadAsync(body, options.Value.MaxLineBytes, cancellationToken))
            {
                if (line.Bytes is not null && line.Bytes.AsSpan().Trim(" \t\r"u8).IsEmpty)
                {
                    continue;
                }

                var error = line.Bytes is null
                    ? $"The line is longer than {options.Value.MaxLineBytes} bytes."
                    : await ImportLineAsync(line.Bytes, cancellationToken);
                if (error is null)
                {
                    imported++;
                }
                else
                {
                    failed++;
                    if (errors.Count < MaxReportedErrors)
                    {
                        errors.Add(new ImportError(line.Number, error));
                    }
                }

                if (++inBatch >= BatchSize)
                {
                    await transaction.CommitAsync(cancellationToken);
                    await transaction.DisposeAsync();
                    db.ChangeTracker.Clear();
                    transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                    inBatch = 0;
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            await transaction.DisposeAsync();
        }

        return new ImportResponse(imported, failed, errors);
    }

    private async Task<string?> ImportLineAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        ProfileRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<ProfileRequest>(bytes, json.Value.SerializerOptions);
        }
        catch (JsonException e)
        {
            return $"Not a valid profile object: {e.Message}";
        }

        if (request is null)
        {
            return "The line is null, not a profile object.";
        }

        var validation = await validator.ValidateAsync(request, cancellationToken);
        if (!validation.IsValid)
        {
            return string.Join(" ", validation.Errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}"));
        }

        var (_, problem) = await profiles.UpsertAsync(null, request, cancellationToken);
        if (problem is not null)
        {
            return $"{problem.Field}: {problem.Message}";
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return null;
        }
        catch (DbUpdateException e)
        {
            // The savepoint EF took for this SaveChanges was rolled back; forget the line's entities.
            foreach (var entry in db.ChangeTracker.Entries().Where(x => x.State != EntityState.Unchanged).ToList())
            {
                entry.State = EntityState.Detached;
            }
            return $"Could not be stored: {e.InnerException?.Message ?? e.Message}";
        }
    }
}
