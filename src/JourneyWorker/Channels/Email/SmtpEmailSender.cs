using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace JourneyWorker.Channels.Email;

/// <summary>
/// Sends through a small pool of persistent SMTP connections. Each connection runs over a socket we
/// open ourselves with TCP_NODELAY, because MailKit leaves Nagle on and that costs a delayed-ACK stall
/// (~40 ms) per message on a persistent connection. TLS (StartTls, SslOnConnect) runs over that socket; the server's
/// certificate is checked against the system's CAs, or, with Email:Smtp:TrustedCertificateFile, must be exactly that one.
/// </summary>
public sealed partial class SmtpEmailSender : IEmailSender, IAsyncDisposable
{
    private readonly EmailOptions _options;
    private readonly TimeProvider _time;
    private readonly EmailSigning _signing;
    private readonly ILogger<SmtpEmailSender> _logger;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentBag<Connection> _idle = [];
    private readonly X509Certificate2? _trusted;
    private bool _disposed;

    public SmtpEmailSender(IOptions<EmailOptions> options, TimeProvider time, ILogger<SmtpEmailSender> logger, EmailSigning? signing = null)
    {
        _options = options.Value;
        _time = time;
        _signing = signing ?? EmailSigning.None;
        _logger = logger;
        _slots = new SemaphoreSlim(_options.Smtp.PoolSize, _options.Smtp.PoolSize);
        // Checked at start (EmailOptionsValidator); read once here, not per connection.
        _trusted = _options.Smtp.HasTrustedCertificate ? _options.Smtp.LoadTrustedCertificate() : null;
    }

    public async Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var (mime, error) = EmailMessageBuilder.Build(message, _options, _time.GetUtcNow(), _signing);
        if (mime is null)
        {
            LogRefused(_logger, message.MessageId, error!);
            return new SendResult(SendOutcome.Failed, error);
        }

        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        Connection? connection = null;
        try
        {
            connection = await AcquireAsync(cancellationToken).ConfigureAwait(false);
            // Written as it was signed; the envelope sender is the bounce address when there is one.
            var sender = message.ReturnPath is { } returnPath ? MailboxAddress.Parse(returnPath) : mime.From.Mailboxes.First();
            await connection.Client.SendAsync(EmailSigning.Format, mime, sender, mime.To.Mailboxes, cancellationToken).ConfigureAwait(false);
            connection.Sent++;
            connection.LastUsed = _time.GetTimestamp();
            Release(ref connection);
            return SendResult.Sent;
        }
        catch (SmtpCommandException ex)
        {
            // The server answered; the session is still usable unless it said it is closing (421).
            var transient = (int)ex.StatusCode is >= 400 and < 500;
            LogRejected(_logger, message.MessageId, (int)ex.StatusCode, ex.Message);
            if (connection is not null && connection.Client.IsConnected && (int)ex.StatusCode != 421)
            {
                Release(ref connection);
            }
            return new SendResult(transient ? SendOutcome.RetryLater : SendOutcome.Failed, $"SMTP {(int)ex.StatusCode}: {ex.Message}");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsConnectionProblem(ex))
        {
            LogConnectionProblem(_logger, message.MessageId, _options.Smtp.Host!, _options.Smtp.Port, ex.Message);
            return new SendResult(SendOutcome.RetryLater, $"SMTP connection problem: {ex.Message}");
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            _slots.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        while (_idle.TryTake(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _slots.Dispose();
        _trusted?.Dispose();
    }

    private static bool IsConnectionProblem(Exception ex) =>
        ex is IOException or SocketException or SmtpProtocolException or ServiceNotConnectedException
            or AuthenticationException or OperationCanceledException or TimeoutException or SslHandshakeException
            // MailKit's answer when StartTls is configured and the server does not offer STARTTLS: never fall back to
            // plain text; the message waits until the server (or the setting) is fixed.
            or NotSupportedException;

    /// <summary>Returns a usable connection to the pool, or closes it once it has carried its quota.</summary>
    private void Release(ref Connection? connection)
    {
        if (connection!.Sent < _options.Smtp.MaxMessagesPerConnection)
        {
            _idle.Add(connection);
            connection = null;
        }
    }

    private async Task<Connection> AcquireAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryTake(out var pooled))
        {
            if (!pooled.Client.IsConnected)
            {
                await pooled.DisposeAsync().ConfigureAwait(false);
                continue;
            }
            if (_time.GetElapsedTime(pooled.LastUsed) < _options.Smtp.IdleCheck)
            {
                return pooled;
            }
            try
            {
                // Servers drop idle sessions; a NOOP finds out before a message is at stake.
                await pooled.Client.NoOpAsync(cancellationToken).ConfigureAwait(false);
                pooled.LastUsed = _time.GetTimestamp();
                return pooled;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (IsConnectionProblem(ex) || ex is SmtpCommandException))
            {
                await pooled.DisposeAsync().ConfigureAwait(false);
            }
        }
        return await ConnectAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<Connection> ConnectAsync(CancellationToken cancellationToken)
    {
        var smtp = _options.Smtp;
        var client = new SmtpClient { Timeout = (int)smtp.Timeout.TotalMilliseconds };
        if (_trusted is not null)
        {
            client.ServerCertificateValidationCallback = IsTrusted;
        }
        var socket = CreateSocket();
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(smtp.Timeout);
                await socket.ConnectAsync(smtp.Host!, smtp.Port, timeout.Token).ConfigureAwait(false);
            }
            await client.ConnectAsync(socket, smtp.Host!, smtp.Port, Map(smtp.Security), cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(smtp.Username))
            {
                await client.AuthenticateAsync(smtp.Username, smtp.Password ?? "", cancellationToken).ConfigureAwait(false);
            }
            LogConnected(_logger, smtp.Host!, smtp.Port);
            return new Connection(client) { LastUsed = _time.GetTimestamp() };
        }
        catch
        {
            client.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The pin: exactly the configured certificate, whatever the chain or name says (a self-signed relay has neither), and
    /// nothing else, not even a certificate the system trusts.
    /// </summary>
    private bool IsTrusted(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(_trusted!.RawData))
        {
            return true;
        }
        LogNotPinned(_logger, _options.Smtp.Host!, _options.Smtp.Port,
            certificate is null ? "none" : Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)),
            _trusted!.GetCertHashString(HashAlgorithmName.SHA256), _options.Smtp.TrustedCertificateFile!);
        return false;
    }

    /// <summary>Dual-mode where the OS has IPv6; Nagle off (see the class comment).</summary>
    internal static Socket CreateSocket() => new(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    private static SecureSocketOptions Map(SmtpSecurity security) => security switch
    {
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.None,
    };

    private sealed class Connection(SmtpClient client) : IAsyncDisposable
    {
        public SmtpClient Client { get; } = client;
        public int Sent { get; set; }
        public long LastUsed { get; set; }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (Client.IsConnected)
                {
                    // Polite QUIT, but never wait long for a server that is going away anyway.
                    using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await Client.DisconnectAsync(true, quit.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or SmtpProtocolException or OperationCanceledException or ServiceNotConnectedException or SmtpCommandException)
            {
                // The connection is being thrown away; a failed goodbye changes nothing.
            }
            finally
            {
                Client.Dispose();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Opened SMTP connection to {Host}:{Port}")]
    private static partial void LogConnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "SMTP server {Host}:{Port} presented certificate SHA-256 {Presented}, not {Trusted} from {File}: connection refused")]
    private static partial void LogNotPinned(ILogger logger, string host, int port, string presented, string trusted, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "E-mail {MessageId} refused before sending: {Reason}")]
    private static partial void LogRefused(ILogger logger, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "E-mail {MessageId} rejected by the SMTP server with {Status}: {Reply}")]
    private static partial void LogRejected(ILogger logger, string messageId, int status, string reply);

    [LoggerMessage(Level = LogLevel.Warning, Message = "E-mail {MessageId} not sent: connection problem with {Host}:{Port}: {Error}")]
    private static partial void LogConnectionProblem(ILogger logger, string messageId, string host, int port, string error);
}
