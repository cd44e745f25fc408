using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace JourneyWorker.CrashHarness;

/// <summary>A minimal SMTP server on loopback that counts messages by Message-ID (enough for MailKit without auth or TLS).</summary>
public sealed class SmtpCounter : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public SmtpCounter()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }
    public ConcurrentDictionary<string, int> ByMessageId { get; } = new(StringComparer.Ordinal);
    public int Total => ByMessageId.Values.Sum();
    public int Duplicates => ByMessageId.Values.Sum(c => c - 1);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
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
            await writer.WriteLineAsync("220 crash-harness ESMTP");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-crash-harness\r\n250-8BITMIME\r\n250 SMTPUTF8");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 go ahead");
                        string? id = null;
                        while (await reader.ReadLineAsync(_stop.Token) is { } data && data != ".")
                        {
                            if (id is null && data.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase))
                            {
                                id = data[11..].Trim();
                            }
                        }
                        ByMessageId.AddOrUpdate(id ?? Guid.NewGuid().ToString(), 1, (_, c) => c + 1);
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
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // The service was killed mid-session: that message was never acknowledged, so it is not counted.
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
