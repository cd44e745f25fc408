using Microsoft.AspNetCore.Antiforgery;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Rendering;

/// <summary>The sections of the top navigation.</summary>
public enum Section { None, Journeys, Instances, Audiences, Events }

/// <summary>The page shell: head with the inline style, the navigation, the main region, the optional live script.</summary>
public static class Layout
{
    private static readonly (Section Section, string Href, string Text)[] Sections =
    [
        (Section.Journeys, "/dashboard", "Journeys"),
        (Section.Instances, "/dashboard/instances", "Instances"),
        (Section.Audiences, "/dashboard/audiences", "Audiences"),
        (Section.Events, "/dashboard/events", "Events"),
    ];

    public static HtmlPage Page(HttpContext context, string title, Section section, Markup body, bool live = false, int status = StatusCodes.Status200OK)
    {
        var signedIn = context.User.Identity?.IsAuthenticated == true && context.User.Identity.AuthenticationType == DashboardAuth.Scheme;
        var nav = signedIn
            ? Html($"""
                <nav aria-label="Dashboard"><ul>{Sections.Select(s => Html($"""<li><a href="{s.Href}"{(s.Section == section ? Html($" aria-current=\"page\"") : Empty)}>{s.Text}</a></li>"""))}</ul></nav>
                <form method="post" action="/dashboard/sign-out">{Token(context)}<button type="submit">Sign out</button></form>
                """)
            : Empty;
        var script = live ? Html($"<script>{Raw(DashboardAssets.Script)}</script>") : Empty;
        return new HtmlPage(Html($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="same-origin">
            <title>{title} · JourneyWorker</title>
            <style>{Raw(DashboardAssets.Css)}</style>
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header class="top"><a class="brand" href="/dashboard">JourneyWorker</a>{nav}</header>
            <main id="main" tabindex="-1">
            {body}
            </main>
            {script}
            </body>
            </html>
            """), status);
    }

    /// <summary>The antiforgery field every form that changes something carries (ASP.NET Core antiforgery).</summary>
    public static Markup Token(HttpContext context)
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        return Html($"""<input type="hidden" name="{tokens.FormFieldName}" value="{tokens.RequestToken}">""");
    }

    /// <summary>A status word as a badge; the word itself carries the meaning, the colour only repeats it.</summary>
    public static Markup Status(string status) => Html($"""<span class="status status-{status}">{status}</span>""");

    public static Markup Notice(string? text, bool error = false) =>
        text is null ? Empty : Html($"""<p class="notice {(error ? "error" : "ok")}" role="{(error ? "alert" : "status")}">{text}</p>""");

    public static string Time(DateTime? at) => at?.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture) ?? "—";

    /// <summary>
    /// The embedded stylesheet and script are this assembly's own files, written inline as they are (CSP allows exactly
    /// their hashes); nothing else may use this.
    /// </summary>
    private static Markup Raw(string asset) => new(asset);
}
