using System.Security.Claims;
using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Infrastructure;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard;

/// <summary>
/// The dashboard's session: the admin key typed once into a form (checked by <see cref="ApiKeys.RoleOf"/>, as the API
/// checks its header) starts a cookie session scoped to /dashboard. The API never reads that cookie: its policies use
/// the X-Api-Key scheme only, so a browser session cannot be turned against /api.
/// </summary>
public static class DashboardAuth
{
    public const string Scheme = "Dashboard";
    public const string Policy = "dashboard";
    public const string CookieName = "JourneyWorker.Dashboard";
    public const string AntiforgeryCookieName = "JourneyWorker.Antiforgery";
    public const string SignInPath = "/dashboard/sign-in";

    public static IServiceCollection AddDashboardAuth(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("JourneyWorker");
        // Kept on disk so that sessions and open forms survive a restart.
        services.AddOptions<KeyManagementOptions>().Configure<DataDirectory, IOptions<DashboardOptions>, ILoggerFactory>((o, data, dashboard, logs) =>
            o.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(data.Resolve(dashboard.Value.KeysDirectory ?? "keys")), logs));

        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.Path = "/dashboard";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.SlidingExpiration = true;
            o.LoginPath = SignInPath;
            o.AccessDeniedPath = SignInPath;
            o.ReturnUrlParameter = "returnUrl";
        });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<IOptions<DashboardOptions>>((o, dashboard) => o.ExpireTimeSpan = dashboard.Value.SessionLifetime);
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(ApiKeyAuthenticationHandler.AdminRole));
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = AntiforgeryCookieName;
            o.Cookie.Path = "/dashboard";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__token";
            // The pages send X-Frame-Options: DENY themselves.
            o.SuppressXFrameOptionsHeader = true;
        });
        return services;
    }

    public static void MapSignIn(RouteGroupBuilder dashboard)
    {
        dashboard.MapGet("/sign-in", SignInForm).AllowAnonymous();
        dashboard.MapPost("/sign-in", SignInAsync).AllowAnonymous().AddEndpointFilter<AntiforgeryFilter>();
        // Under the session like every page, so that its token is checked against the signed-in user it was made for.
        dashboard.MapPost("/sign-out", SignOutAsync).RequireAuthorization(Policy).AddEndpointFilter<AntiforgeryFilter>();
    }

    private static HtmlPage SignInForm(HttpContext context, string? returnUrl) => Form(context, returnUrl, null, StatusCodes.Status200OK);

    private static async Task<Results<RedirectHttpResult, HtmlPage>> SignInAsync(HttpContext context, ApiKeys keys, CancellationToken cancellationToken)
    {
        var form = await context.Request.ReadFormAsync(cancellationToken);
        var returnUrl = form["returnUrl"].ToString();
        var key = form["key"].ToString();
        if (key.Length == 0)
        {
            return Form(context, returnUrl, "Enter the admin API key.", StatusCodes.Status400BadRequest);
        }
        if (keys.RoleOf(key) != ApiKeyRole.Admin)
        {
            // The ingest key is refused here as on /api: it is not the admin key.
            return Form(context, returnUrl, "That is not the admin API key (Security:AdminApiKey).", StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, ApiKeyAuthenticationHandler.AdminRole), new Claim(ClaimTypes.Role, ApiKeyAuthenticationHandler.AdminRole)], Scheme);
        // Not persistent: the cookie goes with the browser session, and the ticket inside it lapses after SessionLifetime idle.
        await context.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
        return TypedResults.Redirect(LocalOrHome(returnUrl));
    }

    private static async Task<RedirectHttpResult> SignOutAsync(HttpContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await context.SignOutAsync(Scheme);
        return TypedResults.Redirect(SignInPath);
    }

    /// <summary>Only a dashboard path may be returned to, never another site ("//host", "/\host") or another part of this one.</summary>
    public static string LocalOrHome(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && (url == "/dashboard" || url.StartsWith("/dashboard/", StringComparison.Ordinal) || url.StartsWith("/dashboard?", StringComparison.Ordinal))
            && !url.Contains('\\', StringComparison.Ordinal) && !url.Contains("//", StringComparison.Ordinal)
            ? url
            : "/dashboard";

    private static HtmlPage Form(HttpContext context, string? returnUrl, string? error, int status)
    {
        return Layout.Page(context, "Sign in", Section.None, Html($"""
            <section class="signin" aria-labelledby="signin-title">
            <h1 id="signin-title">Sign in to the dashboard</h1>
            {Layout.Notice(error, error: true)}
            <form method="post" action="/dashboard/sign-in">
            {Layout.Token(context)}
            <input type="hidden" name="returnUrl" value="{LocalOrHome(returnUrl)}">
            <label for="key">Admin API key</label>
            <input type="password" id="key" name="key" autocomplete="current-password" required autofocus aria-describedby="key-help">
            <p id="key-help" class="muted">The value of Security:AdminApiKey (in Development it is printed at start-up).</p>
            <button type="submit" class="primary">Sign in</button>
            </form>
            </section>
            """), status: status);
    }
}

/// <summary>Refuses a form post without a valid antiforgery token with a page that says what to do.</summary>
public sealed class AntiforgeryFilter(IAntiforgery antiforgery) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (await antiforgery.IsRequestValidAsync(context.HttpContext))
        {
            return await next(context);
        }
        return Layout.Page(context.HttpContext, "Form expired", Section.None, Html($"""
            <h1>The form could not be accepted</h1>
            <p>It expired, or it was not sent from this dashboard. Go back, reload the page and try again.</p>
            <p><a href="/dashboard">Back to the dashboard</a></p>
            """), status: StatusCodes.Status400BadRequest);
    }
}
