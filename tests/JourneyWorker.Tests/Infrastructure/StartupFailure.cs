namespace JourneyWorker.Tests.Infrastructure;

/// <summary>Why a host refuses to start.</summary>
public static class StartupFailure
{
    /// <summary>
    /// The exception text of a start that must fail. WebApplicationFactory's deferred host can lose the race with an entry
    /// point that fails within milliseconds (options validation does) and then reports an ObjectDisposedException of the
    /// service provider instead of the failure; a fresh host reports the failure itself.
    /// </summary>
    public static string Of(Func<JourneyWorkerApp> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        for (var attempt = 1; ; attempt++)
        {
            using var app = create();
            var error = Assert.ThrowsAny<Exception>(() => app.CreateClient());
            if (error is not ObjectDisposedException || attempt == 5)
            {
                return error.ToString();
            }
        }
    }
}
