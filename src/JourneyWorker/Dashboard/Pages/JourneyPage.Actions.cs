using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

public static partial class JourneyPage
{
    /// <summary>
    /// The lifecycle actions that apply to the journey as it is, each a form with its antiforgery token; every one that
    /// changes something asks for a ticked confirmation (checked again by the server, so it holds without script too).
    /// </summary>
    private static Markup Actions(HttpContext context, Guid id, List<JourneyVersion> versions)
    {
        var token = Layout.Token(context);
        var draft = versions.LastOrDefault(v => v.Status == JourneyStatus.Draft);
        var live = versions.LastOrDefault(v => v.Status == JourneyStatus.Live);
        var running = versions.Any(v => v.Status is JourneyStatus.Live or JourneyStatus.Closed);
        var forms = new List<Markup>
        {
            Form(id, token, "validate", "Validate", $"Checks version {JourneyWorker.Journeys.JourneyService.Current(versions).Version} as publishing would, and lists what is wrong.", confirm: null),
        };
        if (draft is { TestMode: false })
        {
            forms.Add(Form(id, token, "test-on", "Turn test mode on",
                $"Test profiles enter draft version {draft.Version} and really receive its messages.",
                $"Turn test mode on for version {draft.Version}", Html($"""
                    <label for="waitOverride">Wait override <span class="muted">(optional, e.g. PT5S, at most P1D)</span></label>
                    <input type="text" id="waitOverride" name="waitOverride" inputmode="text" autocomplete="off" pattern="P.*">
                    """)));
        }
        if (draft is { TestMode: true })
        {
            forms.Add(Form(id, token, "test-off", "Turn test mode off", "Removes the test instances and their counts.", $"Turn test mode off for version {draft.Version}"));
        }
        if (draft is not null)
        {
            forms.Add(Form(id, token, "publish", "Publish", live is null
                    ? $"Version {draft.Version} goes live: profiles start entering it."
                    : $"Version {draft.Version} goes live; version {live.Version} closes and its instances finish there.",
                $"Publish version {draft.Version}", primary: true));
        }
        if (live is not null)
        {
            forms.Add(Form(id, token, "close", "Close", "No new entries; running instances finish their way.", $"Close version {live.Version}"));
        }
        if (running)
        {
            forms.Add(Form(id, token, "stop", "Stop", "Every running instance ends now. This cannot be undone.", "Stop the journey and end every instance", danger: true));
        }
        return Html($"""
            <section aria-labelledby="actions-title">
            <h2 id="actions-title">Actions</h2>
            <div class="actions">{forms}</div>
            </section>
            """);
    }

    private static Markup Form(Guid id, Markup token, string action, string button, string help, string? confirm, Markup extra = default,
        bool primary = false, bool danger = false)
    {
        var check = confirm is null
            ? Empty
            : Html($"""
                <div class="check"><input type="checkbox" id="confirm-{action}" name="confirm" value="yes" required> <label for="confirm-{action}">{confirm}</label></div>
                """);
        var css = danger ? "danger" : primary ? "primary" : "";
        return Html($"""
            <form method="post" action="/dashboard/journeys/{id}/actions/{action}">
            {token}
            <p id="help-{action}">{help}</p>
            {extra}
            {check}
            <button type="submit" id="action-{action}" class="{css}" aria-describedby="help-{action}">{button}</button>
            </form>
            """);
    }
}
