using System.Security.Cryptography;
using JourneyWorker.Channels;
using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Journeys;
using JourneyWorker.Runtime;
using JourneyWorker.Tracking;

namespace JourneyWorker.Simulation;

/// <summary>The services a simulation needs, from the service's configuration, for a command that runs no server.</summary>
public static class SimulationHost
{
    public static IHost Build(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        // Tracking tokens are never handed out by a simulation: a throwaway key keeps the command from making a key file.
        builder.Configuration.AddInMemoryCollection([new("Tracking:SigningKey", Convert.ToHexString(RandomNumberGenerator.GetBytes(32)))]);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddJourneyDatabase();
        builder.Services.AddChannels();
        builder.Services.AddTracking();
        builder.Services.AddDeliverability();
        builder.Services.AddJourneys();
        builder.Services.AddSingleton<ProfileTimeZones>();
        return builder.Build();
    }
}
