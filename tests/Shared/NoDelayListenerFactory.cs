using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace JourneyWorker.Testing;

/// <summary>
/// SmtpServer has no NoDelay option and its own listener cannot be constructed from outside, so this
/// replaces it: accepted sockets get TCP_NODELAY (set on the listener and, to be explicit, on each
/// socket), or every message would measure Nagle's delayed-ACK stall. Shared by the test sink and the
/// benchmark sink (linked into both projects). Plain SMTP only.
/// </summary>
public sealed class NoDelayListenerFactory : IEndpointListenerFactory
{
    /// <summary>The endpoint actually bound (port 0 becomes a real port).</summary>
    public TaskCompletionSource<IPEndPoint> Bound { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var listener = new TcpListener(endpointDefinition.Endpoint);
        listener.Server.NoDelay = true;
        listener.Start(512);
        Bound.TrySetResult((IPEndPoint)listener.LocalEndpoint);
        return new Listener(listener);
    }

    private sealed class Listener(TcpListener listener) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            var socket = await listener.AcceptSocketAsync(cancellationToken);
            socket.NoDelay = true;
            return new Pipe(new NetworkStream(socket, ownsSocket: true));
        }

        public void Dispose() => listener.Stop();
    }

    private sealed class Pipe(NetworkStream stream) : ISecurableDuplexPipe
    {
        public PipeReader Input { get; } = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        public PipeWriter Output { get; } = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        public bool IsSecure => false;
        public SslProtocols SslProtocol => SslProtocols.None;

        public Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("This sink speaks plain SMTP only.");

        public void Dispose()
        {
            Input.Complete();
            Output.Complete();
            stream.Dispose();
        }
    }
}
