using FluentValidation;
using JourneyWorker.Audiences;
using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using JourneyWorker.Profiles;
using JourneyWorker.Runtime;
using JourneyWorker.Tracking;

if (HealthProbe.IsRequested(args))
{
    return await HealthProbe.RunAsync(args);
}

if (BackupCommand.IsRequested(args))
{
    return await BackupCommand.RunAsync(args);
}

if (MigrateDataCommand.IsRequested(args))
{
    return await MigrateDataCommand.RunAsync(args);
}

// appsettings are read at start only: reload-on-change would put an inotify watch on the whole
// content root, and with the database under it (data/ by default) every WAL write wakes the watcher.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"] });

builder.Services.AddSystemd();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddJourneyDatabase();
builder.Services.AddProblemHandling();
builder.Services.AddRequestLimits();
builder.Services.AddAbuseLimits();
builder.Services.AddGracefulShutdown();
builder.Services.AddApiKeyAuthentication();
builder.Services.AddSwagger();
builder.Services.AddHealth();
builder.Services.AddJourneyTelemetry(builder.Configuration);
builder.Services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton);
builder.Services.AddProfiles();
builder.Services.AddAudiences();
builder.Services.AddEventConfigs();
builder.Services.AddChannels();
builder.Services.AddTracking();
builder.Services.AddRuntime(builder.Configuration);
builder.Services.AddJourneys();
builder.Services.AddEventIntake();

var app = builder.Build();

app.EnsureApiKeys();
app.UseProblemHandling();
app.UseAuthentication();
app.UseAuthorization();
app.UseAbuseLimits();
app.MapSwagger();
app.MapHealth();
app.MapMetrics();
app.MapProfiles();
app.MapAudiences();
app.MapEventConfigs();
app.MapJourneys();
app.MapEventIntake();
app.MapTracking();

await app.RunAsync();
return 0;

/// <summary>Entry point; public so that tests can host it.</summary>
public partial class Program;
