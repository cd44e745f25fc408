using JourneyWorker.Testing;
using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.IO;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>One message as the sink received it: envelope sender and recipients, the parsed message, its bytes as sent; <paramref name="Secure"/>: over TLS.</summary>
public sealed record ReceivedMail(Guid SessionId, string From, IReadOnlyList<string> To, MimeMessage Message, byte[] Raw, bool Secure = false);

/// <summary>
/// A real SMTP server (SmtpServer 11) on 127.0.0.1 and an ephemeral port that records what it receives.
/// Its listener sets TCP_NODELAY (accepted sockets inherit it), or persistent-connection timings would
/// measure Nagle's delayed-ACK stall instead of our code. Replies to DATA can be scripted (4xx/5xx).
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedMail> _messages = new();
    private readonly ConcurrentQueue<SmtpResponse> _scripted = new();
    private readonly CancellationTokenSource _stop = new();
    private SmtpServer.SmtpServer? _server;
    private Task? _running;
    private int _sessions;
    private int _rejected;
    private int _disposed;

    private SmtpSink()
    {
    }

    public string Host => "127.0.0.1";
    public int Port { get; private set; }

    /// <summary>SMTP sessions (TCP connections) accepted so far.</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>Messages answered with a scripted reply instead of being stored.</summary>
    public int RejectedCount => Volatile.Read(ref _rejected);

    public IReadOnlyList<ReceivedMail> Messages => [.. _messages];

    /// <summary>Starts the sink; with a username it requires AUTH (PLAIN/LOGIN, allowed without TLS) with these credentials.</summary>
    public static Task<SmtpSink> StartAsync(string? username = null, string? password = null, CancellationToken cancellationToken = default) =>
        StartAsync(username, password, null, implicitTls: false, cancellationToken);

    /// <summary>Starts a plain sink on a given port: a server back after an outage, where the service expects it.</summary>
    public static Task<SmtpSink> StartOnPortAsync(int port, CancellationToken cancellationToken = default) =>
        StartAsync(null, null, null, implicitTls: false, cancellationToken, port);

    /// <summary>
    /// Starts a sink that speaks TLS with <paramref name="certificate"/> (which must hold its private key): from the first
    /// byte when <paramref name="implicitTls"/> (SMTPS, what SslOnConnect expects), else after STARTTLS, which it offers.
    /// </summary>
    public static Task<SmtpSink> StartTlsAsync(X509Certificate2 certificate, bool implicitTls, CancellationToken cancellationToken = default) =>
        StartAsync(null, null, certificate, implicitTls, cancellationToken);

    private static async Task<SmtpSink> StartAsync(string? username, string? password, X509Certificate2? certificate, bool implicitTls, CancellationToken cancellationToken, int port = 0)
    {
        var sink = new SmtpSink();
        var listeners = new NoDelayListenerFactory();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("sink.test")
            .Endpoint(e =>
            {
                e.Endpoint(new IPEndPoint(IPAddress.Loopback, port))
                    .AuthenticationRequired(username is not null)
                    .AllowUnsecureAuthentication(username is not null)
                    .IsSecure(implicitTls);
                if (certificate is not null)
                {
                    e.Certificate(certificate).SupportedSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13);
                }
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listeners);
        services.Add(new Store(sink));
        if (username is not null)
        {
            services.Add(new DelegatingUserAuthenticator((user, pass) => user == username && pass == (password ?? "")));
        }
        sink._server = new SmtpServer.SmtpServer(options, services);
        sink._server.SessionCreated += (_, _) => Interlocked.Increment(ref sink._sessions);
        sink._running = sink._server.StartAsync(sink._stop.Token);
        var bound = await listeners.Bound.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        sink.Port = bound.Port;
        return sink;
    }

    /// <summary>Runs when a message has been taken, before the sender hears the 250: the moment between a send and its commit.</summary>
    public Func<ReceivedMail, Task>? OnReceived { get; set; }

    /// <summary>The next DATA is answered with this reply (e.g. 451 or 550) and not stored; queue several for several messages.</summary>
    public void ReplyNext(int code, string text = "scripted reply") => _scripted.Enqueue(new SmtpResponse((SmtpReplyCode)code, text));

    /// <summary>Polls until <paramref name="count"/> messages have arrived or the deadline passes.</summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForMessagesAsync(int count, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (_messages.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} messages, the sink has {_messages.Count}.");
            }
            await Task.Delay(20, cancellationToken);
        }
        return Messages;
    }

    public async ValueTask DisposeAsync()
    {
        // A test that stops the server for an outage disposes it early; its cleanup may dispose it again.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stop.CancelAsync();
        if (_server is not null)
        {
            _server.Shutdown();
            try
            {
                await _server.ShutdownTask.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
            }
        }
        if (_running is not null)
        {
            try
            {
                await _running.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
            }
        }
        _stop.Dispose();
    }

    private static string Address(SmtpServer.Mail.IMailbox mailbox) => $"{mailbox.User}@{mailbox.Host}";

    private sealed class Store(SmtpSink sink) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            if (sink._scripted.TryDequeue(out var reply))
            {
                Interlocked.Increment(ref sink._rejected);
                return reply;
            }
            var raw = buffer.ToArray();
            using var stream = new MemoryStream(raw);
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            var mail = new ReceivedMail(context.SessionId, Address(transaction.From), [.. transaction.To.Select(Address)], message, raw, context.Pipe.IsSecure);
            sink._messages.Enqueue(mail);
            if (sink.OnReceived is { } received)
            {
                await received(mail);
            }
            return SmtpResponse.Ok;
        }
    }
}
