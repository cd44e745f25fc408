using System.Net.Http.Headers;
using System.Net.Mime;
using System.Text;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Channels.Push;

/// <summary>
/// Firebase Cloud Messaging HTTP v1. The OAuth2 access token comes from the service-account file
/// (JWT bearer grant against the file's token_uri); Google.Apis.Auth caches it until shortly before
/// it expires, so the token endpoint is hit about once an hour, not once per message.
/// </summary>
public sealed partial class FcmPushSender : IPushSender
{
    public const string HttpClientName = "fcm";
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly FcmOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger<FcmPushSender> _logger;
    private readonly string _credentialsFile;
    private readonly Uri _endpoint;
    private readonly SemaphoreSlim _credentialLock = new(1, 1);
    private ITokenAccess? _credential;

    public FcmPushSender(IOptions<PushOptions> options, IHttpClientFactory http, IHostEnvironment environment, TimeProvider time, ILogger<FcmPushSender> logger)
    {
        _options = options.Value.Fcm;
        _http = http;
        _time = time;
        _logger = logger;
        _credentialsFile = Path.GetFullPath(_options.CredentialsFile ?? "", environment.ContentRootPath);
        _endpoint = new Uri($"{_options.BaseUrl.TrimEnd('/')}/v1/projects/{Uri.EscapeDataString(_options.ProjectId ?? "")}/messages:send");
    }

    public async Task<SendResult> SendAsync(PushMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (string.IsNullOrEmpty(message.Token))
        {
            return new SendResult(SendOutcome.TokenDead, "The push token is empty.");
        }

        string accessToken;
        try
        {
            var credential = await CredentialAsync(cancellationToken).ConfigureAwait(false);
            accessToken = await credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is TokenResponseException or HttpRequestException or IOException or InvalidOperationException or ArgumentException or OperationCanceledException or UnauthorizedAccessException)
        {
            // An authorization problem is ours, not the message's: retry later rather than fail the step.
            LogAuthFailed(_logger, message.MessageId, ex.Message);
            return new SendResult(SendOutcome.RetryLater, $"FCM authorization failed: {ex.Message}");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new StringContent(FcmPayload.Request(message).ToJsonString(), Encoding.UTF8, MediaTypeNames.Application.Json),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);

        var client = _http.CreateClient(HttpClientName);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.Timeout);
            using var response = await client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return SendResult.Sent;
            }
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            var result = FcmPayload.Classify(response.StatusCode, body, response.Headers.RetryAfter, _time.GetUtcNow());
            LogNotSent(_logger, message.MessageId, result.Outcome, result.Error ?? "");
            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or IOException or OperationCanceledException)
        {
            LogNotSent(_logger, message.MessageId, SendOutcome.RetryLater, ex.Message);
            return new SendResult(SendOutcome.RetryLater, $"FCM request failed: {ex.Message}");
        }
    }

    /// <summary>Loaded on first use, so a missing key file does not stop the host; only service-account files are accepted.</summary>
    private async Task<ITokenAccess> CredentialAsync(CancellationToken cancellationToken)
    {
        if (_credential is { } loaded)
        {
            return loaded;
        }
        await _credentialLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_credential is null)
            {
                var account = await CredentialFactory.FromFileAsync<ServiceAccountCredential>(_credentialsFile, cancellationToken).ConfigureAwait(false);
                _credential = account.ToGoogleCredential().CreateScoped(Scope);
            }
            return _credential;
        }
        finally
        {
            _credentialLock.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push {MessageId} not sent: could not obtain an FCM access token: {Error}")]
    private static partial void LogAuthFailed(ILogger logger, string messageId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push {MessageId} not sent ({Outcome}): {Error}")]
    private static partial void LogNotSent(ILogger logger, string messageId, SendOutcome outcome, string error);
}
