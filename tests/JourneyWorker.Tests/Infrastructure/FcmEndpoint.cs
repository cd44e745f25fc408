using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>A push as FCM received it: the device token, the whole <c>message</c> object, and the bearer token used.</summary>
public sealed record FcmReceived(string Token, JsonObject Message, string AccessToken)
{
    /// <summary>The W3C traceparent header the request carried (null: none), for the tracing tests.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>A scripted answer to the next messages:send request.</summary>
public sealed record FcmReply(int Status, string Body, string? RetryAfter = null)
{
    public static FcmReply Unregistered() => new(404, """
        {"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND",
         "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}
        """);

    public static FcmReply TooManyRequests(string retryAfter) => new(429, """
        {"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED",
         "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}
        """, retryAfter);

    public static FcmReply ServerError(string? retryAfter = null) => new(500, """{"error":{"code":500,"message":"Internal error.","status":"INTERNAL"}}""", retryAfter);

    public static FcmReply InvalidArgument() => new(400, """
        {"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT",
         "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}
        """);
}

/// <summary>
/// A loopback stand-in for Google: the OAuth2 token endpoint (JWT bearer grant; the assertion's RS256
/// signature is verified against the public half of the service-account key this fixture generates)
/// and FCM HTTP v1 messages:send (only bearer tokens it issued are accepted). Point
/// <c>Push:Fcm:BaseUrl</c> at <see cref="BaseUrl"/>, <c>Push:Fcm:ProjectId</c> at <see cref="ProjectId"/> and
/// <c>Push:Fcm:CredentialsFile</c> at <see cref="CredentialsFile"/> (whose token_uri points here).
/// </summary>
public sealed class FcmEndpoint : IAsyncDisposable
{
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    /// <summary>Google.Apis.Auth always names Google's token endpoint as the audience, whatever token_uri says; Google accepts that.</summary>
    public const string GoogleAudience = "https://oauth2.googleapis.com/token";

    private readonly RSA _key = RSA.Create(2048);
    private readonly string _directory = Directory.CreateTempSubdirectory("journeyworker-fcm-").FullName;
    private readonly ConcurrentDictionary<string, byte> _issued = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FcmReceived> _messages = new();
    private readonly ConcurrentQueue<FcmReply> _scripted = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private WebApplication? _app;
    private int _tokenRequests;

    private FcmEndpoint(string projectId) => ProjectId = projectId;

    public string ProjectId { get; }
    public string BaseUrl { get; private set; } = "";
    public string TokenUri => $"{BaseUrl}/token";
    public string ClientEmail => "journeyworker@test-project.iam.gserviceaccount.com";
    public string CredentialsFile => Path.Combine(_directory, "service-account.json");

    /// <summary>Access tokens handed out (successful token requests).</summary>
    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>Pushes accepted (200) so far.</summary>
    public IReadOnlyList<FcmReceived> Messages => [.. _messages];

    /// <summary>Why requests were refused (bad grant, bad signature, unknown bearer...), for assertion messages.</summary>
    public IReadOnlyList<string> Problems => [.. _problems];

    /// <summary>How long issued access tokens claim to live (expires_in).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public static async Task<FcmEndpoint> StartAsync(string projectId = "test-project", CancellationToken cancellationToken = default)
    {
        var endpoint = new FcmEndpoint(projectId);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/token", endpoint.TokenAsync);
        app.MapPost("/v1/projects/{project}/{**action}", endpoint.SendAsync);
        await app.StartAsync(cancellationToken);
        endpoint._app = app;
        endpoint.BaseUrl = app.Urls.First().TrimEnd('/');
        await File.WriteAllTextAsync(endpoint.CredentialsFile, endpoint.ServiceAccountJson(), cancellationToken);
        return endpoint;
    }

    /// <summary>The next messages:send gets this answer instead of 200; queue several for several sends.</summary>
    public void ReplyNext(FcmReply reply) => _scripted.Enqueue(reply);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _key.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private string ServiceAccountJson() => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = ProjectId,
        ["private_key_id"] = "test-key-1",
        ["private_key"] = _key.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ClientEmail,
        ["client_id"] = "1234567890",
        ["auth_uri"] = $"{BaseUrl}/auth",
        ["token_uri"] = TokenUri,
    }.ToJsonString();

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return Refuse($"grant_type was '{form["grant_type"]}'");
        }
        if (VerifyAssertion(form["assertion"].ToString()) is { } problem)
        {
            return Refuse(problem);
        }
        var token = "ya29.test-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        _issued[token] = 0;
        Interlocked.Increment(ref _tokenRequests);
        return Results.Json(new { access_token = token, expires_in = (int)TokenLifetime.TotalSeconds, token_type = "Bearer" });
    }

    private string? VerifyAssertion(string assertion)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return "assertion is not a compact JWS";
        }
        try
        {
            var header = JsonNode.Parse(Base64Url(parts[0]))!;
            if ((string?)header["alg"] != "RS256")
            {
                return $"alg was {header["alg"]}";
            }
            var signed = Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}");
            if (!_key.VerifyData(signed, Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
            {
                return "RS256 signature does not verify against the service-account key";
            }
            var claims = JsonNode.Parse(Base64Url(parts[1]))!;
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var iat = (long?)claims["iat"] ?? 0;
            var exp = (long?)claims["exp"] ?? 0;
            return (string?)claims["iss"] != ClientEmail ? $"iss was {claims["iss"]}"
                : (string?)claims["aud"] is not { } aud || (aud != TokenUri && aud != GoogleAudience) ? $"aud was {claims["aud"]}"
                : !(((string?)claims["scope"])?.Split(' ').Contains(Scope) ?? false) ? $"scope was {claims["scope"]}"
                : exp <= now || exp - iat > 3600 || iat > now + 300 ? $"iat {iat} / exp {exp} out of range at {now}"
                : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or CryptographicException or InvalidOperationException)
        {
            return $"assertion unreadable: {ex.Message}";
        }
    }

    private async Task<IResult> SendAsync(HttpRequest request, string project, string action)
    {
        if (action != "messages:send" || project != ProjectId)
        {
            _problems.Enqueue($"unexpected path {request.Path}");
            return Results.NotFound();
        }
        var authorization = request.Headers.Authorization.ToString();
        var bearer = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : "";
        if (!_issued.ContainsKey(bearer))
        {
            _problems.Enqueue("unknown bearer token");
            return Results.Json(new { error = new { code = 401, message = "Request had invalid authentication credentials.", status = "UNAUTHENTICATED" } }, statusCode: 401);
        }
        var body = await JsonNode.ParseAsync(request.Body);
        if (body?["message"] is not JsonObject message || (string?)message["token"] is not { Length: > 0 } token)
        {
            _problems.Enqueue("body without message.token");
            return Results.Json(new { error = new { code = 400, message = "message.token missing", status = "INVALID_ARGUMENT" } }, statusCode: 400);
        }
        if (_scripted.TryDequeue(out var reply))
        {
            if (reply.RetryAfter is not null)
            {
                request.HttpContext.Response.Headers.RetryAfter = reply.RetryAfter;
            }
            return Results.Content(reply.Body, "application/json", Encoding.UTF8, reply.Status);
        }
        var traceParent = request.Headers.TryGetValue("traceparent", out var header) ? header.ToString() : null;
        _messages.Enqueue(new FcmReceived(token, message, bearer) { TraceParent = traceParent });
        return Results.Json(new { name = $"projects/{ProjectId}/messages/{_messages.Count}" });
    }

    private IResult Refuse(string problem)
    {
        _problems.Enqueue(problem);
        return Results.Json(new { error = "invalid_grant", error_description = problem }, statusCode: 400);
    }

    private static byte[] Base64Url(string text) => Convert.FromBase64String(
        text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + (4 - text.Length % 4) % 4, '='));
}
