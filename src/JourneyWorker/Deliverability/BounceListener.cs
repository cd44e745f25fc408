using System.Buffers;
using System.Net;
using JourneyWorker.Channels.Email;
using Microsoft.Extensions.Options;
using MimeKit;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace JourneyWorker.Deliverability;

/// <summary>
/// The built-in SMTP listener of Email:Bounces:Listen: takes mail for the bounce address (and its VERP forms) only,
/// reads delivery status notifications and feedback reports from it, and answers 250 once what they say is stored
/// (451 when it cannot be, so the sending server tries again later). Plain SMTP without AUTH, like an MX: a report
/// counts only when it names a send of ours, which nobody but the recipient's side knows.
/// </summary>
public sealed partial class BounceListener(
    IOptions<EmailOptions> options,
    ReturnPaths returnPaths,
    IServiceScopeFactory scopes,
    ILogger<BounceListener> logger) : BackgroundService
{
    private readonly TaskCompletionSource<IPEndPoint> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The endpoint the listener is bound to (a configured port 0 becomes a real port); waits until it is.</summary>
    public Task<IPEndPoint> LocalEndpointAsync => _bound.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bounces = options.Value.Bounces;
        if (!ListenEndpoint.TryParse(bounces.Listen, out var endpoint))
        {
            return; // no listener configured
        }
        var serverOptions = new SmtpServerOptionsBuilder()
            .ServerName(returnPaths.Address?.Split('@')[1] ?? Dns.GetHostName())
            .MaxMessageSize(bounces.MaxMessageBytes, MaxMessageSizeHandling.Strict)
            .Endpoint(e => e.Endpoint(endpoint))
            .Build();
        var listeners = new EndpointListenerFactory();
        listeners.EndpointStarted += (_, e) => _bound.TrySetResult((IPEndPoint)e.LocalEndPoint);
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listeners);
        services.Add(new Recipients(returnPaths));
        services.Add(new ReportStore(this));
        var server = new SmtpServer.SmtpServer(serverOptions, services);
        server.SessionFaulted += (_, e) => LogSessionFaulted(logger, e.Exception.Message);
        try
        {
            await server.StartAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _bound.TrySetException(e);
            LogFailed(logger, e, endpoint.ToString());
            throw;
        }
    }

    private async Task<SmtpResponse> SaveAsync(IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        MimeMessage message;
        try
        {
            using var stream = new MemoryStream(buffer.ToArray());
            message = await MimeMessage.LoadAsync(stream, cancellationToken);
        }
        catch (FormatException e)
        {
            LogUnreadable(logger, e.Message);
            return SmtpResponse.Ok; // taken and dropped: refusing it would only make the sender's server bounce a bounce
        }

        var recipients = transaction.To.Select(m => $"{m.User}@{m.Host}").ToList();
        var reports = FeedbackReports.Read(message, recipients, returnPaths);
        if (reports.Count == 0)
        {
            LogNoReport(logger, message.MessageId ?? "(none)");
            return SmtpResponse.Ok;
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var feedback = scope.ServiceProvider.GetRequiredService<EmailFeedbackService>();
            foreach (var report in reports)
            {
                await feedback.RecordAsync(report, requireKnownSend: true, cancellationToken);
            }
            return SmtpResponse.Ok;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogNotStored(logger, e);
            return new SmtpResponse(SmtpReplyCode.ServiceUnavailable, "4.3.0 The report could not be stored; try again later.");
        }
    }

    /// <summary>RCPT TO is accepted for the bounce address and its VERP forms; anything else is 550.</summary>
    private sealed class Recipients(ReturnPaths returnPaths) : MailboxFilter
    {
        public override Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken) =>
            Task.FromResult(returnPaths.IsBounceRecipient($"{to.User}@{to.Host}"));
    }

    private sealed class ReportStore(BounceListener listener) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken) =>
            listener.SaveAsync(transaction, buffer, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The bounce listener could not start on {Endpoint}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string endpoint);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Bounce listener session ended with an error: {Error}")]
    private static partial void LogSessionFaulted(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bounce listener: dropped a message that is not MIME: {Error}")]
    private static partial void LogUnreadable(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bounce listener: message {MessageId} holds no delivery status or feedback report; dropped")]
    private static partial void LogNoReport(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bounce listener: a report could not be stored; the sender was told to try again")]
    private static partial void LogNotStored(ILogger logger, Exception exception);
}
