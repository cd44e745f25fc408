using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Email;

/// <summary>
/// Writes each message as <c>&lt;MessageId&gt;.eml</c> into the pickup directory: the embedded default
/// when no SMTP server is configured, and a drop folder that mail servers such as IIS SMTP can pick up.
/// </summary>
public sealed partial class PickupEmailSender : IEmailSender
{
    private readonly EmailOptions _options;
    private readonly TimeProvider _time;
    private readonly EmailSigning _signing;
    private readonly ILogger<PickupEmailSender> _logger;

    public PickupEmailSender(IOptions<EmailOptions> options, IHostEnvironment environment, TimeProvider time, ILogger<PickupEmailSender> logger,
        EmailSigning? signing = null)
    {
        _options = options.Value;
        _time = time;
        _signing = signing ?? EmailSigning.None;
        _logger = logger;
        Directory = Path.GetFullPath(_options.PickupDirectory, environment.ContentRootPath);
    }

    public string Directory { get; }

    public async Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (mime, error) = EmailMessageBuilder.Build(message, _options, _time.GetUtcNow(), _signing);
        if (mime is null)
        {
            return new SendResult(SendOutcome.Failed, error);
        }
        if (message.ReturnPath is { } returnPath)
        {
            // A file has no envelope: the header is where whoever picks it up finds the sender (it is not signed).
            mime.Headers.Insert(0, new MimeKit.Header(MimeKit.HeaderId.ReturnPath, $"<{MimeKit.MailboxAddress.Parse(returnPath).Address}>"));
        }

        var path = Path.Combine(Directory, PickupFiles.Name(message.MessageId, ".eml"));
        try
        {
            await PickupFiles.WriteAsync(path, stream => mime.WriteToAsync(EmailSigning.Format, stream, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new SendResult(SendOutcome.RetryLater, $"Could not write {path}: {ex.Message}");
        }
        LogWritten(_logger, message.MessageId, path);
        return SendResult.Sent;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail {MessageId} written to {Path}")]
    private static partial void LogWritten(ILogger logger, string messageId, string path);
}
