using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>One log entry as the host wrote it: its named values ({Occurrence} and so on) kept as text.</summary>
public sealed record CapturedLog(string Category, LogLevel Level, string Message, IReadOnlyDictionary<string, string?> Values);

/// <summary>
/// A logger provider for the real host that keeps every entry its filters let through (the usual Logging:LogLevel
/// settings apply), for tests that assert what the service reports.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value?.ToString(), StringComparer.Ordinal)
                : [];
            capture._entries.Enqueue(new CapturedLog(category, logLevel, formatter(state, exception), values));
        }
    }
}
