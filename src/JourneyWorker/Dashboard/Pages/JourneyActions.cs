using FluentValidation;
using JourneyWorker.Dashboard.Rendering;
using JourneyWorker.Journeys;
using Microsoft.AspNetCore.Http.HttpResults;
using static JourneyWorker.Dashboard.Rendering.Markup;

namespace JourneyWorker.Dashboard.Pages;

/// <summary>The journey page's forms: the same <see cref="JourneyService"/> calls as the API's lifecycle routes.</summary>
public static class JourneyActions
{
    public static async Task<Results<RedirectHttpResult, HtmlPage>> RunAsync(Guid id, string action, HttpContext context, JourneyService journeys,
        IValidator<TestModeRequest> testModeValidator, CancellationToken cancellationToken)
    {
        var (journey, _) = await journeys.LoadAsync(id, cancellationToken);
        if (journey is null)
        {
            return DashboardEndpoints.NotFound(context, $"No journey has the id {id}.");
        }
        var form = await context.Request.ReadFormAsync(cancellationToken);
        if (action == "validate")
        {
            var (result, problem) = await journeys.ValidateAsync(id, cancellationToken);
            return problem is not null ? Failed(context, journey.Name, id, action, problem) : Validated(context, journey.Name, id, result!);
        }
        if (action is not ("test-on" or "test-off" or "publish" or "close" or "stop"))
        {
            return DashboardEndpoints.NotFound(context, $"There is no journey action called {action}.");
        }
        if (form["confirm"] != "yes")
        {
            return Message(context, journey.Name, id, "Not confirmed", "Tick the confirmation box to go ahead; nothing was changed.", StatusCodes.Status400BadRequest);
        }

        LifecycleProblem? outcome;
        switch (action)
        {
            case "test-on":
                var wait = form["waitOverride"].ToString().Trim();
                var request = new TestModeRequest(true, wait.Length == 0 ? null : wait);
                var check = await testModeValidator.ValidateAsync(request, cancellationToken);
                if (!check.IsValid)
                {
                    return Message(context, journey.Name, id, "Test mode not turned on", string.Join(" ", check.Errors.Select(e => e.ErrorMessage)), StatusCodes.Status400BadRequest);
                }
                outcome = await journeys.SetTestModeAsync(id, request, cancellationToken);
                break;
            case "test-off":
                outcome = await journeys.SetTestModeAsync(id, new TestModeRequest(false, null), cancellationToken);
                break;
            case "publish":
                outcome = await journeys.PublishAsync(id, cancellationToken);
                break;
            case "close":
                outcome = await journeys.CloseAsync(id, cancellationToken);
                break;
            default:
                outcome = await journeys.StopAsync(id, cancellationToken);
                break;
        }
        return outcome is null
            ? TypedResults.Redirect($"/dashboard/journeys/{id}?done={action}")
            : Failed(context, journey.Name, id, action, outcome);
    }

    private static HtmlPage Validated(HttpContext context, string name, Guid id, JourneyValidationResult result) =>
        Layout.Page(context, $"Validation of {name}", Section.Journeys, Html($"""
            <p><a href="/dashboard">Journeys</a> › <a href="/dashboard/journeys/{id}">{name}</a> › Validation</p>
            <h1>Validation of {name}</h1>
            {Layout.Notice(result.Valid ? "The journey is valid: it can be published." : "The journey is not valid: fix these errors before testing or publishing it.", error: !result.Valid)}
            {Issues("Errors", result.Errors)}
            {Issues("Warnings", result.Warnings)}
            <p><a href="/dashboard/journeys/{id}">Back to {name}</a></p>
            """), status: StatusCodes.Status200OK);

    private static HtmlPage Failed(HttpContext context, string name, Guid id, string action, LifecycleProblem problem) =>
        Layout.Page(context, $"{name}: {action} refused", Section.Journeys, Html($"""
            <p><a href="/dashboard">Journeys</a> › <a href="/dashboard/journeys/{id}">{name}</a></p>
            <h1>{Title(action)} refused</h1>
            {Layout.Notice(problem.Detail, error: true)}
            {(problem.Validation is { } v ? Html($"{Issues("Errors", v.Errors)}{Issues("Warnings", v.Warnings)}") : Empty)}
            <p><a href="/dashboard/journeys/{id}">Back to {name}</a></p>
            """), status: problem.Status);

    private static HtmlPage Message(HttpContext context, string name, Guid id, string title, string text, int status) =>
        Layout.Page(context, title, Section.Journeys, Html($"""
            <p><a href="/dashboard">Journeys</a> › <a href="/dashboard/journeys/{id}">{name}</a></p>
            <h1>{title}</h1>
            {Layout.Notice(text, error: true)}
            <p><a href="/dashboard/journeys/{id}">Back to {name}</a></p>
            """), status: status);

    private static Markup Issues(string title, IReadOnlyList<ValidationIssue> issues) => issues.Count == 0
        ? Empty
        : Html($"""
            <h2>{title}</h2>
            <table>
            <thead><tr><th scope="col">Node</th><th scope="col">Code</th><th scope="col">Message</th></tr></thead>
            <tbody>{issues.Select(i => Html($"<tr><td>{i.Node ?? "(journey)"}</td><td><code>{i.Code}</code></td><td>{i.Message}</td></tr>"))}</tbody>
            </table>
            """);

    private static string Title(string action) => action switch
    {
        "test-on" => "Test mode",
        "test-off" => "Ending test mode",
        "publish" => "Publishing",
        "close" => "Closing",
        "stop" => "Stopping",
        _ => "Validation",
    };
}
