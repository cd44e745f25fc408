using JourneyWorker.Testing;
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace JourneyWorker.Bench;

/// <summary>
/// A real SMTP server (SmtpServer 11) on 127.0.0.1 that only counts what it receives (the tests'
/// sink parses every message; here parsing would take CPU from the code being measured). Its
/// listener sets TCP_NODELAY, or persistent connections would measure Nagle's delayed-ACK stall.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private SmtpServer.SmtpServer? _server;
    private Task? _running;
    private long _messages;
    private int _sessions;
    private int _open;
    private int _mostOpen;

    public string Host => "127.0.0.1";
    public int Port { get; private set; }
    public long MessageCount => Interlocked.Read(ref _messages);
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>The most sessions open at once: the sender's pool size, whatever it reconnected along the way.</summary>
    public int MostOpenSessions => Volatile.Read(ref _mostOpen);

    /// <summary>Waits (up to 5 s) for earlier sessions to end, then starts counting the most open at once afresh.</summary>
    public async Task ResetMostOpenAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _open) > 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20, cancellationToken);
        }
        Volatile.Write(ref _mostOpen, Volatile.Read(ref _open));
    }

    public static async Task<SmtpSink> StartAsync(CancellationToken cancellationToken)
    {
        var sink = new SmtpSink();
        var listeners = new NoDelayListenerFactory();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("sink.bench")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, 0)))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listeners);
        services.Add(new Store(sink));
        sink._server = new SmtpServer.SmtpServer(options, services);
        sink._server.SessionCreated += (_, _) =>
        {
            Interlocked.Increment(ref sink._sessions);
            var open = Interlocked.Increment(ref sink._open);
            for (var most = Volatile.Read(ref sink._mostOpen); open > most; most = Volatile.Read(ref sink._mostOpen))
            {
                Interlocked.CompareExchange(ref sink._mostOpen, open, most);
            }
        };
        sink._server.SessionCompleted += (_, _) => Interlocked.Decrement(ref sink._open);
        sink._running = sink._server.StartAsync(sink._stop.Token);
        sink.Port = (await listeners.Bound.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)).Port;
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_server is not null)
        {
            _server.Shutdown();
            await Quietly(_server.ShutdownTask);
        }
        if (_running is not null)
        {
            await Quietly(_running);
        }
        _stop.Dispose();
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }
    }

    private sealed class Store(SmtpSink sink) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref sink._messages);
            return Task.FromResult(SmtpResponse.Ok);
        }
    }
}
