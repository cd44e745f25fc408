[assembly: AssemblyFixture(typeof(JourneyWorker.Tests.Infrastructure.PostgreSqlLeftovers))]

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>
/// At the end of the test run, drops the PostgreSQL test databases whose host was never disposed (a
/// set-up that failed before handing its host to the test, say), so that none outlives the run, and
/// names them on stderr: such a host is a test's bug to fix.
/// </summary>
public sealed class PostgreSqlLeftovers : IDisposable
{
    public void Dispose()
    {
        var leftovers = PostgreSqlDatabase.NotDropped();
        if (leftovers.Count == 0)
        {
            return;
        }
        Console.Error.WriteLine($"warning: {leftovers.Count} PostgreSQL test database(s) outlived their test host, dropped now: "
            + string.Join(", ", leftovers.Select(d => d.Name)));
        foreach (var database in leftovers)
        {
            database.Drop();
        }
    }
}
