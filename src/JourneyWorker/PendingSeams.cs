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

namespace JourneyWorker.Channels
{
    public sealed record EmailMessage(string MessageId, string To, string Subject, string Html, string? Text, IReadOnlyDictionary<string, string> Headers);
    public sealed record PushMessage(string MessageId, string Token, string Platform, string Title, string Body, IReadOnlyDictionary<string, string> Data);
    public enum SendOutcome { Sent, RetryLater, Failed, TokenDead }
    public sealed record SendResult(SendOutcome Outcome, string? Error = null, TimeSpan? RetryAfter = null);
    public interface IEmailSender { Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken); }
    public interface IPushSender { Task<SendResult> SendAsync(PushMessage message, CancellationToken cancellationToken); }
    public static class RetryPolicy
    {
        public const int MaxAttempts = 5;
        public static TimeSpan Backoff(int attempt, TimeSpan? retryAfter) => TimeSpan.FromSeconds(30);
    }
    public static class ChannelServiceCollectionExtensions { public static IServiceCollection AddChannels(this IServiceCollection services) => services; }
}

namespace JourneyWorker.Channels.Templates
{
    public sealed record TemplateModel(JsonObject Profile, JsonObject Events, JsonObject Journey);
    public sealed record TemplateCheck(bool Ok, string? Error);
    public sealed class TemplateRenderer
    {
        public TemplateCheck Check(string template) => new(true, null);
        public string Render(string template, TemplateModel model, bool html) => template;
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
