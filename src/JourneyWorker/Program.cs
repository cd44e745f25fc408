using FluentValidation;
using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Events;
using JourneyWorker.Infrastructure;
using JourneyWorker.Profiles;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddSystemd();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddJourneyDatabase();
builder.Services.AddProblemHandling();
builder.Services.AddRequestLimits();
builder.Services.AddApiKeyAuthentication();
builder.Services.AddSwagger();
builder.Services.AddHealth();
builder.Services.AddJourneyMetrics();
builder.Services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton);
builder.Services.AddProfiles();
builder.Services.AddAudiences();
builder.Services.AddEventConfigs();

var app = builder.Build();

app.EnsureApiKeys();
app.UseProblemHandling();
app.UseAuthentication();
app.UseAuthorization();
app.MapSwagger();
app.MapHealth();
app.MapMetrics();
app.MapProfiles();
app.MapAudiences();
app.MapEventConfigs();

app.Run();

/// <summary>Entry point; public so that tests can host it.</summary>
public partial class Program;
