using System.Text.Json;
using FluentValidation;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime.Store;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Profiles;

/// <summary>
/// Streams an NDJSON body into profiles: every valid line is kept, every bad line is reported with its number. Lines
/// are read and checked into batches (up to <see cref="ImportOptions.BatchSize"/> lines or
/// <see cref="ImportOptions.BatchBytes"/>), so memory stays flat whatever the body size; each batch is written in one
/// transaction with one identity lookup for all its lines, its lines applied in order in memory as single upserts
/// would be, and the result written set-based (<see cref="ProfileSql"/>), without change tracking.
/// </summary>
public sealed partial class ProfileImporter(
    JourneyDbContext db,
    JourneyConnections connections,
    InstanceStore store,
    ProfileSql sql,
    AudienceMembership membership,
    IValidator<ProfileRequest> validator,
    IOptions<JsonOptions> json,
    IOptions<ImportOptions> options,
    JourneyTelemetry telemetry,
    TimeProvider time,
    ILogger<ProfileImporter> logger)
{
    public const int MaxReportedErrors = 1000;

    /// <summary>Imports the body; <paramref name="run"/>, when given, follows the progress batch by batch (and stores it).</summary>
    public async Task<ImportResponse> ImportAsync(System.IO.Pipelines.PipeReader body, ImportRun? run, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var totals = run ?? new ImportRun(Guid.Empty, time.GetUtcNow().UtcDateTime, null);
        var batch = new List<Line>(Math.Min(settings.BatchSize, 10_000));
        long batchBytes = 0;
        using var running = telemetry.ImportStarted();

        async Task WriteAsync()
        {
            await WriteBatchAsync(batch, run, cancellationToken);
            var failed = batch.Count(l => l.Error is not null);
            totals.Add(batch.Count - failed, batch.Where(l => l.Error is not null).Select(l => new ImportError(l.Number, l.Error!)), MaxReportedErrors);
            // Per batch, as it is written: rate() of the imported series is the progress of a running import.
            telemetry.ProfilesImported(batch.Count - failed, failed);
            batch.Clear();
            batchBytes = 0;
        }

        await foreach (var line in NdjsonLineReader.ReadAsync(body, settings.MaxLineBytes, cancellationToken))
        {
            if (line.Bytes is not null && line.Bytes.AsSpan().Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            batch.Add(line.Bytes is null
                ? new Line(line.Number, null) { Error = $"The line is longer than {settings.MaxLineBytes} bytes." }
                : await ReadLineAsync(line.Number, line.Bytes, cancellationToken));
            batchBytes += line.Bytes?.Length ?? 0;
            run?.Read((line.Bytes?.Length ?? settings.MaxLineBytes) + 1);
            if (batch.Count >= settings.BatchSize || batchBytes >= settings.BatchBytes)
            {
                await WriteAsync();
            }
        }
        if (batch.Count > 0)
        {
            await WriteAsync();
        }

        return totals.Response();
    }

    /// <summary>One line: the profile it asks for, or why not (set when it is read, or when it is written).</summary>
    private sealed class Line(long number, ProfileRequest? request)
    {
        public long Number { get; } = number;
        public ProfileRequest? Request { get; } = request;
        public string? Error { get; set; }

        /// <summary>The attributes as stored (the JSON text an upsert writes), for a line read without error.</summary>
        public string Attributes { get; init; } = "{}";

        /// <summary>The identities the line names, as the profile's identities after it (an upsert replaces them).</summary>
        public HashSet<(string Namespace, string Value)> Identities { get; } = IdentitiesOf(request);

        /// <summary>The profile the line was applied to in the batch; null while unplanned or when it failed.</summary>
        public BatchProfile? Profile { get; set; }

        /// <summary>The line's identities that belong to different profiles, each with its owner (the error is worded once ids are known).</summary>
        public List<(string Namespace, string Value, BatchProfile Owner)>? Clash { get; set; }
    }

    private static HashSet<(string Namespace, string Value)> IdentitiesOf(ProfileRequest? request)
    {
        var identities = new HashSet<(string Namespace, string Value)>(request?.Identities?.Count ?? 0);
        foreach (var (ns, value) in request?.Identities ?? [])
        {
            identities.Add((ns, value));
        }
        return identities;
    }

    private async Task<Line> ReadLineAsync(long number, byte[] bytes, CancellationToken cancellationToken)
    {
        if (ProfileLineReader.TryRead(bytes, out var plain, out var attributes))
        {
            return new Line(number, plain) { Attributes = attributes! };
        }

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

        if (!ProfileRequestValidator.IsPlainlyValid(request))
        {
            var validation = await validator.ValidateAsync(request, cancellationToken);
            if (!validation.IsValid)
            {
                return new Line(number, null) { Error = string.Join(" ", validation.Errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}")) };
            }
        }
        return request.Identities is null or { Count: 0 }
            ? new Line(number, null) { Error = "identities: A profile needs at least one identity." }
            : new Line(number, request) { Attributes = (request.Attributes ?? []).ToJsonString() };
    }
}
