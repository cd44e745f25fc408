// Temporary: replaced by the expressions and channels work when it is merged.
#pragma warning disable
using System.Text.Json.Nodes;
using JourneyWorker.Data;

namespace JourneyWorker.Expressions
{
    public abstract record Expression;
    public sealed record ExpressionError(int Position, string Message);
    public static class ExpressionParser
    {
        public static bool TryParse(string text, out Expression? expression, out ExpressionError? error) { expression = null; error = null; return true; }
    }
    public static class ExpressionEvaluator
    {
        public static bool IsTrue(Expression e, Func<string, JsonNode?> resolvePath, DateTimeOffset now) => true;
    }
}

namespace JourneyWorker.Audiences
{
    public static class AudienceQuery
    {
        public static Task<List<long>> ReadIdsAsync(JourneyDbContext db, string rule, long afterId, int limit, bool testOnly, DateTimeOffset now, CancellationToken ct) => throw new NotImplementedException();
    }
}

namespace JourneyWorker.Events
{
    public sealed record EventField(string Path, string Type);
    public static class EventFieldChecker
    {
        public static IReadOnlyList<string> Check(JsonObject payload, IReadOnlyList<EventField> fields) => [];
    }
}
