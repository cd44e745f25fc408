using System.Globalization;
using System.Text.Json;

namespace JourneyWorker.Tests.Operations;

/// <summary>
/// Logging:Console:FormatterName=json, as the README documents it: every line the service writes to stdout is one JSON
/// object with the timestamp, level, category, message and the message's named values. Under systemd too (NOTIFY_SOCKET
/// set), where the default would be journald's format.
/// </summary>
public sealed class JsonConsoleLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_console_line_is_a_json_object_with_the_expected_fields()
    {
        await using var service = ServiceProcess.Start("json-logs", new Dictionary<string, string>
        {
            ["Logging:Console:FormatterName"] = "json",
            ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ",
            ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
            ["Logging:LogLevel:Default"] = "Information",
        });
        Assert.Equal("READY=1", await service.NextNotificationAsync(TimeSpan.FromSeconds(60), Ct));
        await service.Worker.WaitReadyAsync(TimeSpan.FromSeconds(10), Ct);
        service.Worker.Terminate();
        Assert.Equal(0, await service.Worker.WaitForExitAsync(TimeSpan.FromSeconds(40), Ct));

        var lines = service.Worker.StandardOutput;
        Assert.NotEmpty(lines);
        var entries = lines.Select(line =>
        {
            try
            {
                return JsonDocument.Parse(line).RootElement;
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"Not a JSON line: {line}\n{e.Message}");
            }
        }).ToList();
        Assert.All(entries, entry =>
        {
            Assert.Equal(JsonValueKind.Object, entry.ValueKind);
            Assert.True(DateTimeOffset.TryParseExact(entry.GetProperty("Timestamp").GetString(), "yyyy-MM-ddTHH:mm:ss.fffZ",
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _), entry.ToString());
            Assert.Equal(JsonValueKind.Number, entry.GetProperty("EventId").ValueKind);
            Assert.Contains(entry.GetProperty("LogLevel").GetString(), new[] { "Trace", "Debug", "Information", "Warning", "Error", "Critical" });
            Assert.False(string.IsNullOrEmpty(entry.GetProperty("Category").GetString()), entry.ToString());
            Assert.Equal(JsonValueKind.String, entry.GetProperty("Message").ValueKind);
        });

        // The service's own entry, with its named values as fields of State.
        var migrated = Assert.Single(entries, e => e.GetProperty("Category").GetString() == "JourneyWorker.Data.DatabaseMigrator");
        Assert.Equal("Information", migrated.GetProperty("LogLevel").GetString());
        Assert.StartsWith("Database ready (", migrated.GetProperty("Message").GetString(), StringComparison.Ordinal);
        var state = migrated.GetProperty("State");
        Assert.False(string.IsNullOrEmpty(state.GetProperty("Provider").GetString()));
        Assert.Equal("Database ready ({Provider}) at {DataSource}", state.GetProperty("{OriginalFormat}").GetString());
        Assert.Contains(entries, e => e.GetProperty("Category").GetString() == "Microsoft.Hosting.Lifetime");
    }
}
