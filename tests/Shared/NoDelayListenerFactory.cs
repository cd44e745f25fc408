using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
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
/// benchmark sink (linked into both projects). TLS (STARTTLS, or from the first byte on an endpoint marked secure)
/// is SmtpServer's own upgrade, re-done here because its pipe class is internal.
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

    private sealed class Pipe(NetworkStream network) : ISecurableDuplexPipe
    {
        private Stream _stream = network;

        public PipeReader Input { get; private set; } = PipeReader.Create(network, new StreamPipeReaderOptions(leaveOpen: true));
        public PipeWriter Output { get; private set; } = PipeWriter.Create(network, new StreamPipeWriterOptions(leaveOpen: true));
        public bool IsSecure => _stream is SslStream;
        public SslProtocols SslProtocol => (_stream as SslStream)?.SslProtocol ?? SslProtocols.None;

        /// <summary>The handshake runs on the socket, then the pipes read and write through TLS (nothing is buffered across:
        /// the client waits for the 220 to STARTTLS, or speaks TLS first).</summary>
        public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default)
        {
            var tls = new SslStream(network, leaveInnerStreamOpen: true);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = certificate,
                EnabledSslProtocols = protocols,
                ClientCertificateRequired = false,
            }, cancellationToken);
            _stream = tls;
            Input = PipeReader.Create(tls, new StreamPipeReaderOptions(leaveOpen: true));
            Output = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
        }

        public void Dispose()
        {
            Input.Complete();
            Output.Complete();
            _stream.Dispose();
            network.Dispose();
        }
    }
}
