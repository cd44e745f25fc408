using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Push;

/// <summary>Writes each push as <c>&lt;MessageId&gt;.json</c> holding the FCM request body: the embedded default without an FCM project.</summary>
public sealed partial class PickupPushSender : IPushSender
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly ILogger<PickupPushSender> _logger;

    public PickupPushSender(IOptions<PushOptions> options, IHostEnvironment environment, ILogger<PickupPushSender> logger)
    {
        _logger = logger;
        Directory = Path.GetFullPath(options.Value.PickupDirectory, environment.ContentRootPath);
    }

    public string Directory { get; }

    public async Task<SendResult> SendAsync(PushMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var path = Path.Combine(Directory, PickupFiles.Name(message.MessageId, ".json"));
        var json = Encoding.UTF8.GetBytes(FcmPayload.Request(message).ToJsonString(Indented));
        try
        {
            await PickupFiles.WriteAsync(path, stream => stream.WriteAsync(json, cancellationToken).AsTask(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new SendResult(SendOutcome.RetryLater, $"Could not write {path}: {ex.Message}");
        }
        LogWritten(_logger, message.MessageId, path);
        return SendResult.Sent;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Push {MessageId} written to {Path}")]
    private static partial void LogWritten(ILogger logger, string messageId, string path);
}
