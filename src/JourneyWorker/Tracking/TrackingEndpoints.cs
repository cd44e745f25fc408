using JourneyWorker.Data;
using JourneyWorker.Deliverability;
using JourneyWorker.Infrastructure;
using JourneyWorker.Runtime;
using JourneyWorker.Runtime.Store;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace JourneyWorker.Tracking;

/// <summary>Public tracking routes (/t/**): protected by signed tokens, not keys. A bad token is a 404 with no side effect.</summary>
public static class TrackingEndpoints
{
    // The smallest transparent GIF.
    private static readonly byte[] Pixel = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public static IServiceCollection AddTracking(this IServiceCollection services)
    {
        services.AddOptions<TrackingOptions>().BindConfiguration(TrackingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrackingOptions>, TrackingOptionsValidator>();
        services.AddSingleton<TrackingTokens>();
        services.AddSingleton<MessageDecorator>();
        return services;
    }

    public static WebApplication MapTracking(this WebApplication app)
    {
        var group = app.MapGroup("/t").AllowAnonymous().WithTags("Tracking");
        const string Unknown = "The token is forged, or its message is unknown (its profile was forgotten); nothing was recorded.";
        group.MapGet("/o/{token}", OpenAsync).WithName("TrackEmailOpen")
            .WithSummary("E-mail open pixel")
            .WithDescription("The 1×1 GIF every e-mail carries: fetching it records `emailOpened` for the message (a repeat counts once).")
            .Produces<byte[]>(StatusCodes.Status200OK, "image/gif")
            .Problem(StatusCodes.Status404NotFound, Unknown);
        // Not in the API description: a link people follow from an e-mail in their browser (a 302 to the original URL,
        // recording emailClicked), never an operation a client calls.
        group.MapGet("/c/{token}", ClickAsync).ExcludeFromDescription();
        group.MapGet("/u/{token}", UnsubscribePageAsync).WithName("UnsubscribePage")
            .WithSummary("Unsubscribe confirmation page")
            .WithDescription("The List-Unsubscribe target: a GET only shows a page with a confirm button, because mail software fetches header links by itself (RFC 8058).")
            .Produces<string>(StatusCodes.Status200OK, "text/html")
            .Problem(StatusCodes.Status404NotFound, Unknown);
        group.MapPost("/u/{token}", UnsubscribeAsync).DisableAntiforgery().WithName("Unsubscribe")
            .WithSummary("One-click unsubscribe")
            .WithDescription("RFC 8058 one-click unsubscribe (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`), also the confirm button of the page: withdraws the profile's e-mail consent and suppresses the address.")
            .Produces<string>(StatusCodes.Status200OK, "text/html")
            .Problem(StatusCodes.Status404NotFound, Unknown);
        group.MapPost("/p/{token}", PushOpenAsync).WithName("TrackPushOpen")
            .WithSummary("Record a push open")
            .WithDescription("The app posts a push's `data.openUrl` when the user opens it: records `pushOpened` for the message (a repeat counts once).")
            .Problem(StatusCodes.Status404NotFound, Unknown);
        return app;
    }

    private static async Task<Results<FileContentHttpResult, NotFound>> OpenAsync(
        string token, TrackingTokens tokens, ReactionService reactions, HttpContext context, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TrackingKind.Open, out var claim)
            || await reactions.RecordAsync(claim.OutboxMessageId, "emailOpened", cancellationToken) == ReactionResult.UnknownMessage)
        {
            return TypedResults.NotFound();
        }
        context.Response.Headers.CacheControl = "no-store, max-age=0";
        return TypedResults.File(Pixel, "image/gif");
    }

    private static async Task<Results<RedirectHttpResult, NotFound>> ClickAsync(
        string token, TrackingTokens tokens, InstanceStore store, ReactionService reactions, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TrackingKind.Click, out var claim))
        {
            return TypedResults.NotFound();
        }
        var url = await store.TrackedLinkAsync(claim.OutboxMessageId, claim.LinkIndex, cancellationToken);
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return TypedResults.NotFound();
        }
        await reactions.RecordAsync(claim.OutboxMessageId, "emailClicked", cancellationToken);
        return TypedResults.Redirect(uri.AbsoluteUri);
    }

    /// <summary>GET only shows a confirmation: mail software fetches header links by itself (RFC 8058).</summary>
    private static async Task<Results<ContentHttpResult, NotFound>> UnsubscribePageAsync(
        string token, TrackingTokens tokens, InstanceStore store, CancellationToken cancellationToken)
    {
        // A signed token for a message that no longer exists (forgotten profile) is as unknown as a forged one.
        if (!tokens.TryRead(token, TrackingKind.Unsubscribe, out var claim)
            || await store.MessageOwnerAsync(claim.OutboxMessageId, cancellationToken) is null)
        {
            return TypedResults.NotFound();
        }
        // The action is relative to this page, so it still works when PublicBaseUrl carries a path prefix behind a proxy.
        var html = $"""
            <!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head>
            <body><h1>Unsubscribe</h1><p>Stop receiving these e-mails?</p>
            <form method="post" action="{token}"><button type="submit">Unsubscribe</button></form></body></html>
            """;
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }

    private static async Task<Results<ContentHttpResult, NotFound>> UnsubscribeAsync(
        string token, TrackingTokens tokens, InstanceStore store, JourneyDbContext db, ReactionService reactions, Suppressions suppressions,
        CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TrackingKind.Unsubscribe, out var claim))
        {
            return TypedResults.NotFound();
        }
        var profileId = (await store.MessageOwnerAsync(claim.OutboxMessageId, cancellationToken))?.ProfileId;
        if (profileId is null)
        {
            return TypedResults.NotFound();
        }
        await db.Profiles.Where(p => p.Id == profileId).ExecuteUpdateAsync(s => s.SetProperty(p => p.ConsentEmail, false), cancellationToken);
        // The address itself is suppressed too: another profile carrying it is not mailed either.
        var profile = await db.Profiles.AsNoTracking().Include(p => p.Identities).FirstAsync(p => p.Id == profileId, cancellationToken);
        if (ProfileAddresses.Email(profile) is { } address)
        {
            await suppressions.AddAsync(address, SuppressionReasons.Unsubscribed, null, cancellationToken);
        }
        await reactions.RecordAsync(claim.OutboxMessageId, "unsubscribed", cancellationToken);
        return TypedResults.Content("<!doctype html><html><body><h1>You are unsubscribed.</h1></body></html>", "text/html; charset=utf-8");
    }

    private static async Task<Results<NoContent, NotFound>> PushOpenAsync(
        string token, TrackingTokens tokens, ReactionService reactions, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, TrackingKind.PushOpen, out var claim)
            || await reactions.RecordAsync(claim.OutboxMessageId, "pushOpened", cancellationToken) == ReactionResult.UnknownMessage)
        {
            return TypedResults.NotFound();
        }
        return TypedResults.NoContent();
    }
}
