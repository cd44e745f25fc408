using System.Text.Json;
using FluentValidation;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime.Store;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Profiles;

/// <summary>
/// Streams an NDJSON body into profiles: every valid line is kept, every bad line is reported with its number. Lines
/// are read, checked and written in batches, one transaction each, so memory stays flat whatever the body size. Lines
/// with identities nobody holds yet (most of a first import) are stored together with one lookup and one save per
/// batch; a line that names a known identity, or one an earlier line of the batch took, is applied on its own, in
/// order, as a single upsert would be.
/// </summary>
public sealed class ProfileImporter(
    JourneyDbContext db,
    ProfileService profiles,
    InstanceStore store,
    AudienceMembership membership,
    IValidator<ProfileRequest> validator,
    IOptions<JsonOptions> json,
    IOptions<ImportOptions> options,
    JourneyTelemetry telemetry)
{
    private const int BatchSize = 500;
    private const int MaxReportedErrors = 1000;

    public async Task<ImportResponse> ImportAsync(System.IO.Pipelines.PipeReader body, CancellationToken cancellationToken)
    {
        var imported = 0;
        var failed = 0;
        var errors = new List<ImportError>();
        var batch = new List<Line>(BatchSize);
        using var running = telemetry.ImportStarted();

        async Task WriteAsync()
        {
            await WriteBatchAsync(batch, cancellationToken);
            var failedBefore = failed;
            foreach (var line in batch)
            {
                if (line.Error is null)
                {
                    imported++;
                    continue;
                }
                failed++;
                if (errors.Count < MaxReportedErrors)
                {
                    errors.Add(new ImportError(line.Number, line.Error));
                }
            }
            // Per batch, as it is written: rate() of the imported series is the progress of a running import.
            telemetry.ProfilesImported(batch.Count - (failed - failedBefore), failed - failedBefore);
            batch.Clear();
        }

        await foreach (var line in NdjsonLineReader.ReadAsync(body, options.Value.MaxLineBytes, cancellationToken))
        {
            if (line.Bytes is not null && line.Bytes.AsSpan().Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            batch.Add(line.Bytes is null
                ? new Line(line.Number, null) { Error = $"The line is longer than {options.Value.MaxLineBytes} bytes." }
                : await ReadLineAsync(line.Number, line.Bytes, cancellationToken));
            if (batch.Count >= BatchSize)
            {
                await WriteAsync();
            }
        }
        if (batch.Count > 0)
        {
            await WriteAsync();
        }

        return new ImportResponse(imported, failed, errors);
    }

    /// <summary>One line: the profile it asks for, or why not (set when it is read, or when it is written).</summary>
    private sealed class Line(long number, ProfileRequest? request)
    {
        public long Number { get; } = number;
        public ProfileRequest? Request { get; } = request;
        public string? Error { get; set; }

        /// <summary>The profile the line wrote (its id is known once saved); null while unwritten or when it failed.</summary>
        public Profile? Written { get; set; }

        public List<(string Namespace, string Value)> Identities { get; } =
            request?.Identities?.Select(i => (i.Key, i.Value)).ToList() ?? [];
    }

    private async Task<Line> ReadLineAsync(long number, byte[] bytes, CancellationToken cancellationToken)
    {
        ProfileRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<ProfileRequest>(bytes, json.Value.SerializerOptions);
        }
        catch (JsonException e)
        {
            return new Line(number, null) { Error = $"Not a valid profile object: {e.Message}" };
        }

        if (request is null)
        {
            return new Line(number, null) { Error = "The line is null, not a profile object." };
        }

        var validation = await validator.ValidateAsync(request, cancellationToken);
        return validation.IsValid
            ? new Line(number, request)
            : new Line(number, null) { Error = string.Join(" ", validation.Errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}")) };
    }

    /// <summary>
    /// The batch's lines in order, in one transaction, with what the batch changes in audience qualification (evaluated
    /// once for the batch's profiles, set-based); each line's outcome is left in its Error.
    /// </summary>
    private async Task WriteBatchAsync(List<Line> batch, CancellationToken cancellationToken)
    {
        var lines = batch.Where(l => l.Request is not null).ToList();
        if (lines.Count == 0)
        {
            return;
        }

        await store.WriteAsync(db, async tx =>
        {
            await membership.BeginProfileWriteAsync(tx, cancellationToken);
            await WriteLinesAsync(lines, cancellationToken);
            var written = lines.Where(l => l.Error is null && l.Written is not null).Select(l => l.Written!.Id).Distinct().ToList();
            return await membership.ApplyAsync(tx, written, cancellationToken);
        }, cancellationToken);
        db.ChangeTracker.Clear();
    }

    private async Task WriteLinesAsync(List<Line> lines, CancellationToken cancellationToken)
    {
        var held = await profiles.HeldIdentitiesAsync([.. lines.SelectMany(l => l.Identities).Distinct()], cancellationToken);
        var fresh = new List<Line>();
        var taken = new HashSet<(string Namespace, string Value)>();
        foreach (var line in lines)
        {
            if (line.Identities.Count > 0 && !line.Identities.Any(i => held.Contains(i) || taken.Contains(i)))
            {
                line.Written = profiles.AddNew(line.Request!.Identities!, line.Request);
                taken.UnionWith(line.Identities);
                fresh.Add(line);
                continue;
            }

            // It touches a profile that exists, or one of this batch: what is pending is saved first, then this line alone.
            await SaveFreshAsync(fresh, cancellationToken);
            held.UnionWith(taken);
            taken.Clear();
            await UpsertAsync(line, cancellationToken);
            held.UnionWith(line.Identities);
        }
        await SaveFreshAsync(fresh, cancellationToken);
    }

    /// <summary>The new profiles of the batch so far in one save; if the database refuses it, each line again on its own.</summary>
    private async Task SaveFreshAsync(List<Line> fresh, CancellationToken cancellationToken)
    {
        if (fresh.Count == 0)
        {
            return;
        }
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The savepoint EF took for this save was rolled back (another request stored one of these identities
            // meanwhile, say): forget the entities and let each line find its own outcome.
            Forget();
            foreach (var line in fresh)
            {
                await UpsertAsync(line, cancellationToken);
            }
        }
        fresh.Clear();
    }

    /// <summary>One line as a single upsert: its own lookup and save; its Error stays null when it was stored.</summary>
    private async Task UpsertAsync(Line line, CancellationToken cancellationToken)
    {
        line.Written = null;
        var (profile, problem) = await profiles.UpsertAsync(null, line.Request!, cancellationToken);
        if (problem is not null)
        {
            line.Error = $"{problem.Field}: {problem.Message}";
            return;
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
            line.Written = profile;
        }
        catch (DbUpdateException e)
        {
            // The savepoint EF took for this SaveChanges was rolled back; forget the line's entities.
            Forget();
            line.Error = $"Could not be stored: {e.InnerException?.Message ?? e.Message}";
        }
    }

    private void Forget()
    {
        foreach (var entry in db.ChangeTracker.Entries().Where(x => x.State != EntityState.Unchanged).ToList())
        {
            entry.State = EntityState.Detached;
        }
    }
}
