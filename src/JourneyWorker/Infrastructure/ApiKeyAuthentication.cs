using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Infrastructure;

/// <summary>X-Api-Key authentication: the admin key may do everything, the ingest key only event intake.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeys keys,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    public const string AdminRole = "admin";
    public const string IngestRole = "ingest";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeaderName, out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        string? role = keys.RoleOf(values[0]!) switch
        {
            ApiKeyRole.Admin => AdminRole,
            ApiKeyRole.Ingest => IngestRole,
            _ => null,
        };
        if (role is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, role), new Claim(ClaimTypes.Role, role)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = SchemeName;
        var missing = !Request.Headers.ContainsKey(HeaderName);
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = missing ? $"The {HeaderName} header is missing." : $"The {HeaderName} header does not hold a valid key for this route.",
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        // The ingest key on an admin route is a wrong key for that route: 401 as the contract says.
        await HandleChallengeAsync(properties);
    }
}

public enum ApiKeyRole { None, Admin, Ingest }

/// <summary>The effective keys, from configuration or (in Development only) generated once into the data folder.</summary>
public sealed partial class ApiKeys
{
    public ApiKeys(IOptions<SecurityOptions> options, IHostEnvironment environment, DataDirectory data, ILogger<ApiKeys> logger)
    {
        var admin = options.Value.AdminApiKey;
        var ingest = options.Value.IngestApiKey;
        if (string.IsNullOrWhiteSpace(admin) || string.IsNullOrWhiteSpace(ingest))
        {
            if (!environment.IsDevelopment())
            {
                var missing = string.IsNullOrWhiteSpace(admin) ? "Security:AdminApiKey" : "Security:IngestApiKey";
                throw new OptionsValidationException(SecurityOptions.Section, typeof(SecurityOptions),
                    [$"{missing} is not set (environment variable {missing.Replace(":", "__", StringComparison.Ordinal)}). Outside Development the service does not start without both API keys."]);
            }

            var generated = DevelopmentKeys.LoadOrCreate(data.Path);
            admin = string.IsNullOrWhiteSpace(admin) ? generated.Admin : admin;
            ingest = string.IsNullOrWhiteSpace(ingest) ? generated.Ingest : ingest;
            LogGenerated(logger, generated.File, admin, ingest);
        }

        Admin = admin;
        Ingest = ingest;
        _adminHash = Hash(admin);
        _ingestHash = Hash(ingest);
    }

    private readonly byte[] _adminHash;
    private readonly byte[] _ingestHash;

    public string Admin { get; }
    public string Ingest { get; }

    /// <summary>
    /// Which key this is. Runs on every request: the presented key is hashed once and compared with
    /// both keys' hashes (computed at start), always both, in fixed time, so neither the length nor
    /// which key matched shows in the timing.
    /// </summary>
    public ApiKeyRole RoleOf(string presented)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        var admin = CryptographicOperations.FixedTimeEquals(hash, _adminHash);
        var ingest = CryptographicOperations.FixedTimeEquals(hash, _ingestHash);
        return admin ? ApiKeyRole.Admin : ingest ? ApiKeyRole.Ingest : ApiKeyRole.None;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Development API keys (kept in {File}): admin key {AdminKey}, ingest key {IngestKey}")]
    private static partial void LogGenerated(ILogger logger, string file, string adminKey, string ingestKey);
}

internal static class DevelopmentKeys
{
    public static (string Admin, string Ingest, string File) LoadOrCreate(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var file = Path.Combine(dataDirectory, "dev-api-keys.json");
        if (File.Exists(file))
        {
            var stored = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(file));
            if (stored is not null && stored.TryGetValue("admin", out var a) && stored.TryGetValue("ingest", out var i))
            {
                return (a, i, file);
            }
        }

        var keys = new Dictionary<string, string>
        {
            ["admin"] = "adm_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)),
            ["ingest"] = "ing_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)),
        };
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(keys));
        return (keys["admin"], keys["ingest"], file);
    }
}

public static class ApiKeyAuthenticationExtensions
{
    public const string AdminPolicy = "admin";
    public const string IngestPolicy = "ingest";

    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.Section);
        services.AddSingleton<ApiKeys>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, p => p.RequireRole(ApiKeyAuthenticationHandler.AdminRole))
            .AddPolicy(IngestPolicy, p => p.RequireRole(ApiKeyAuthenticationHandler.AdminRole, ApiKeyAuthenticationHandler.IngestRole));
        return services;
    }

    /// <summary>Resolves the keys at start-up so a missing key stops the service before it listens.</summary>
    public static WebApplication EnsureApiKeys(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<ApiKeys>();
        return app;
    }
}
