namespace JourneyWorker.Data;

/// <summary>Values in the shapes EF Core's SQLite provider stores them, for raw SQL on the same tables.</summary>
public static class SqlValues
{
    public static string Guid(Guid value) => value.ToString().ToUpperInvariant();
}
