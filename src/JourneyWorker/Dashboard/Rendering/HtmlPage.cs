using System.Security.Cryptography;
using System.Text;

namespace JourneyWorker.Dashboard.Rendering;

/// <summary>
/// A dashboard page as a result: HTML with headers that keep it from being framed, cached, sniffed or made to run or
/// load anything but its own inline style and script (allowed by their hashes in the Content-Security-Policy).
/// </summary>
public sealed class HtmlPage(Markup html, int statusCode = StatusCodes.Status200OK) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => statusCode;

    public Markup Html => html;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "text/html; charset=utf-8";
        Secure(response);
        await response.WriteAsync(html.Value, Encoding.UTF8, httpContext.RequestAborted);
    }

    public static void Secure(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = DashboardAssets.ContentSecurityPolicy;
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
    }
}

/// <summary>The stylesheet and script, embedded in the assembly and written inline into every page.</summary>
public static class DashboardAssets
{
    public static readonly string Css = Read("dashboard.css");
    public static readonly string Script = Read("dashboard.js");

    /// <summary>Only the page's own inline style and script run; forms post to this origin only; nothing else loads.</summary>
    public static readonly string ContentSecurityPolicy =
        $"default-src 'none'; style-src '{Hash(Css)}'; script-src '{Hash(Script)}'; connect-src 'self'; img-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static string Read(string name)
    {
        var assembly = typeof(DashboardAssets).Assembly;
        using var stream = assembly.GetManifestResourceStream($"JourneyWorker.Dashboard.Assets.{name}")
            ?? throw new InvalidOperationException($"The dashboard asset {name} is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string Hash(string content) => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
}
