using FluentValidation;
using JourneyWorker.Audiences;
using JourneyWorker.Channels;
using JourneyWorker.Dashboard;
using JourneyWorker.Data;
using JourneyWorker.Definitions;
using JourneyWorker.Deliverability;
using JourneyWorker.Events;
using JourneyWorker.Infrastructure;
using JourneyWorker.Journeys;
using JourneyWorker.Profiles;
using JourneyWorker.Rules;
using JourneyWorker.Runtime;
using JourneyWorker.Simulation;
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

if (ApplyCommand.IsRequested(args))
{
    return await ApplyCommand.RunAsync(args);
}

if (ExportCommand.IsRequested(args))
{
    return await ExportCommand.RunAsync(args);
}

if (ValidateCommand.IsRequested(args))
{
    return await ValidateCommand.RunAsync(args);
}

if (ImportCommand.IsRequested(args))
{
    return await ImportCommand.RunAsync(args);
}

if (SimulateCommand.IsRequested(args))
{
    return await SimulateCommand.RunAsync(args);
}

if (DkimKeygenCommand.IsRequested(args))
{
    return await DkimKeygenCommand.RunAsync(args);
}

// appsettings are read at start only: reload-on-change would put an inotify watch on the whole
// content root, and with the database under it (data/ by default) every WAL write wakes the watcher.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. args, "--hostBuilder:reloadConfigOnChange=false"] });

builder.Services.AddSystemdNotify(builder.Configuration);
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
builder.Services.AddDeliverability();
builder.Services.AddRuntime(builder.Configuration);
builder.Services.AddJourneys();
builder.Services.AddEventIntake();
builder.Services.AddDashboard();

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
app.MapImports();
app.MapAudiences();
app.MapEventConfigs();
app.MapJourneys();
app.MapSimulation();
app.MapFrequencyRules();
app.MapEventIntake();
app.MapTracking();
app.MapDeliverability();
app.MapDashboard();

await app.RunAsync();
return 0;

/// <summary>Entry point; public so that tests can host it.</summary>
public partial class Program;
