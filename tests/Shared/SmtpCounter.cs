using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace JourneyWorker.Testing;

/// <summary>
/// A minimal SMTP server on loopback that counts messages by Message-ID (enough for MailKit without auth or TLS): the
/// real SMTP conversation, cheap enough for hundreds of thousands of messages. Shared by the crash harness and the
/// multi-process tests (linked into both).
/// </summary>
public sealed class SmtpCounter : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _total;
    private int _sessions;

    public SmtpCounter()
    {
        _listener.Server.NoDelay = true;
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Messages accepted (250 after DATA), by Message-ID without its angle brackets.</summary>
    public ConcurrentDictionary<string, int> ByMessageId { get; } = new(StringComparer.Ordinal);

    /// <summary>Messages accepted, resends included.</summary>
    public int Total => Volatile.Read(ref _total);

    /// <summary>Messages accepted more than once under the same Message-ID (each extra copy counts once).</summary>
    public int Duplicates => Total - ByMessageId.Count;

    /// <summary>SMTP sessions (TCP connections) accepted so far.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            client.NoDelay = true;
            Interlocked.Increment(ref _sessions);
            _ = Task.Run(() => SessionAsync(client));
        }
    }

    private async Task SessionAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1);
            await using var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 smtp-counter ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-smtp-counter\r\n250-8BITMIME\r\n250 SMTPUTF8");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 go ahead");
                        string? id = null;
                        var folded = false;
                        while (await reader.ReadLineAsync(_stop.Token) is { } data && data != ".")
                        {
                            if (folded)
                            {
                                id = data.Trim();
                                folded = false;
                            }
                            else if (id is null && data.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase))
                            {
                                id = data[11..].Trim();
                                folded = id.Length == 0; // a long value may be folded onto the next line
                            }
                        }
                        ByMessageId.AddOrUpdate(id is { Length: > 0 } ? id.Trim('<', '>') : Guid.NewGuid().ToString(), 1, (_, c) => c + 1);
                        Interlocked.Increment(ref _total);
                        await writer.WriteLineAsync("250 queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("250 ok");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The sender was killed mid-session: that message was never acknowledged, so it is not counted.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
