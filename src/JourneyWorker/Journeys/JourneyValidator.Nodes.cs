using JourneyWorker.Expressions;
using JourneyWorker.Journeys.Model;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Journeys;

public sealed partial class JourneyValidator
{
    private async Task CheckNodeAsync(
        NodeDefinition node,
        JourneyDefinition definition,
        Dictionary<string, NodeDefinition> byId,
        Dictionary<string, List<string>> predecessors,
        TimeSpan journeyTimeout,
        Action<string?, string, string> error,
        List<ValidationIssue> warnings,
        CancellationToken cancellationToken)
    {
        var isStart = node.Id == definition.Start;
        switch (node.Type)
        {
            case NodeTypes.ReadAudience:
                if (string.IsNullOrWhiteSpace(node.Audience))
                {
                    error(node.Id, "audience.missing", $"Node '{node.Id}' does not name an audience.");
                }
                else if (!Guid.TryParse(node.Audience, out var audienceId)
                    || !await db.Audiences.AnyAsync(a => a.Id == audienceId, cancellationToken))
                {
                    error(node.Id, "audience.unknown", $"Node '{node.Id}' names audience '{node.Audience}', which does not exist.");
                }
                CheckSchedule(node, error);
                if (node.Throttle is <= 0)
                {
                    error(node.Id, "throttle.invalid", $"Node '{node.Id}' throttle must be a positive number of profiles per second.");
                }
                break;

            case NodeTypes.AudienceQualification:
                await CheckQualificationAsync(node, error, cancellationToken);
                break;

            case NodeTypes.Event:
                if (string.IsNullOrWhiteSpace(node.Event))
                {
                    error(node.Id, "event.missing", $"Node '{node.Id}' does not name an event configuration.");
                }
                else if (!await db.EventConfigs.AnyAsync(c => c.Name == node.Event, cancellationToken))
                {
                    error(node.Id, "event.unknown", $"Node '{node.Id}' names event '{node.Event}', which is not configured.");
                }
                if (isStart && (node.Timeout is not null || node.TimeoutNext is not null))
                {
                    error(node.Id, "event.entryTimeout", $"Node '{node.Id}' starts the journey: an entry event has no timeout.");
                }
                else
                {
                    CheckTimeout(node, TimeSpan.FromSeconds(1), journeyTimeout, error);
                }
                break;

            case NodeTypes.Reaction:
                CheckReaction(node, byId, predecessors, error);
                CheckTimeout(node, MinReactionTimeout, TimeSpan.FromTicks(Math.Min(MaxReactionTimeout.Ticks, journeyTimeout.Ticks)), error);
                break;

            case NodeTypes.Email:
                CheckTemplate(node, "subject", node.Subject, required: true, error);
                CheckTemplate(node, "html", node.Html, required: true, error);
                CheckTemplate(node, "text", node.Text, required: false, error);
                CheckMessageRules(node, error);
                break;

            case NodeTypes.Push:
                CheckTemplate(node, "title", node.Title, required: true, error);
                CheckTemplate(node, "body", node.Body, required: true, error);
                foreach (var (key, value) in node.Data ?? [])
                {
                    CheckTemplate(node, $"data.{key}", value, required: false, error);
                }
                CheckMessageRules(node, error);
                break;

            case NodeTypes.Wait:
                CheckWait(node, journeyTimeout, error);
                break;

            case NodeTypes.Condition:
                CheckCondition(node, error);
                break;

            case NodeTypes.Webhook:
                CheckWebhook(node, error, warnings);
                break;
        }

        if (node.Type is not (NodeTypes.Email or NodeTypes.Push or NodeTypes.Webhook) && node.ErrorNext is not null)
        {
            error(node.Id, "errorNext.notAllowed", $"Node '{node.Id}' is a {node.Type} node: only email, push and webhook nodes take errorNext.");
        }
        if (node.Type is not (NodeTypes.Email or NodeTypes.Push))
        {
            CheckNotMessage(node, error);
        }
        if (node.Type == NodeTypes.Webhook && node.TimeoutNext is not null)
        {
            error(node.Id, "timeout.notAllowed", $"Webhook '{node.Id}' takes no timeoutNext: a call that times out is tried again, then takes errorNext.");
        }
        else if (node.Type is not (NodeTypes.Event or NodeTypes.Reaction or NodeTypes.Webhook) && (node.Timeout is not null || node.TimeoutNext is not null))
        {
            error(node.Id, "timeout.notAllowed", $"Node '{node.Id}' is a {node.Type} node: only event, reaction and webhook nodes take a timeout.");
        }
        if (node.Type != NodeTypes.AudienceQualification && node.On is not null)
        {
            error(node.Id, "on.notAllowed", $"Node '{node.Id}' is a {node.Type} node: only audienceQualification nodes take on.");
        }
        if (node.Type == NodeTypes.End && node.Next is not null)
        {
            warnings.Add(new(node.Id, "end.next", $"Node '{node.Id}' is an end node; its next is never taken."));
        }
    }

    /// <summary>An audience qualification entry: an audience that exists, and whether profiles enter on joining or on leaving it.</summary>
    private async Task CheckQualificationAsync(NodeDefinition node, Action<string?, string, string> error, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(node.Audience))
        {
            error(node.Id, "audienceQualification.audienceMissing", $"Node '{node.Id}' does not name the audience whose members qualify.");
        }
        else if (!Guid.TryParse(node.Audience, out var audienceId)
            || !await db.Audiences.AnyAsync(a => a.Id == audienceId, cancellationToken))
        {
            error(node.Id, "audience.unknown", $"Node '{node.Id}' names audience '{node.Audience}', which does not exist.");
        }
        if (node.On is null || !NodeTypes.QualificationOn.Contains(node.On))
        {
            error(node.Id, "audienceQualification.onInvalid",
                $"Node '{node.Id}' on must be \"{NodeTypes.OnEnter}\" (a profile starts matching the audience) or \"{NodeTypes.OnExit}\" (it stops matching), not {(node.On is null ? "missing" : $"'{node.On}'")}.");
        }
        if (node.Schedule is not null || node.Throttle is not null)
        {
            error(node.Id, "audienceQualification.scheduleNotAllowed",
                $"Node '{node.Id}' is an audienceQualification entry: profiles enter when a profile write changes their membership, not on a schedule or throttle.");
        }
    }

    private static void CheckSchedule(NodeDefinition node, Action<string?, string, string> error)
    {
        var schedule = node.Schedule;
        if (schedule?.Frequency is null)
        {
            return; // defaults to once, now
        }
        if (!NodeTypes.Frequencies.Contains(schedule.Frequency))
        {
            error(node.Id, "schedule.invalid", $"Node '{node.Id}' schedule frequency '{schedule.Frequency}' is not one of {string.Join(", ", NodeTypes.Frequencies)}.");
        }
        else if (schedule.Frequency == "cron" && !IsValidCron(schedule.Cron))
        {
            error(node.Id, "schedule.invalid", $"Node '{node.Id}' needs a valid Quartz cron expression in schedule.cron (e.g. \"0 0 9 ? * MON\").");
        }
    }

    private static bool IsValidCron(string? cron)
    {
        if (string.IsNullOrWhiteSpace(cron) || cron.Length > 200)
        {
            return false;
        }
        try
        {
            _ = new Quartz.CronExpression(cron);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static void CheckReaction(NodeDefinition node, Dictionary<string, NodeDefinition> byId, Dictionary<string, List<string>> predecessors, Action<string?, string, string> error)
    {
        if (node.Reaction is null || !NodeTypes.Reactions.Contains(node.Reaction))
        {
            error(node.Id, "reaction.kindInvalid", $"Node '{node.Id}' reaction must be one of {string.Join(", ", NodeTypes.Reactions)}.");
        }

        var before = node.Id is null ? [] : predecessors.GetValueOrDefault(node.Id) ?? [];
        var message = before.Count == 1 && byId.TryGetValue(before[0], out var p) && p.Type is NodeTypes.Email or NodeTypes.Push ? p : null;
        if (message is null || byId[before[0]].Next != node.Id)
        {
            error(node.Id, "reaction.notAfterMessage", $"Reaction '{node.Id}' must follow directly (as its next) a single email or push node.");
            return;
        }
        if (node.Action != message.Id)
        {
            error(node.Id, "reaction.actionMismatch", $"Reaction '{node.Id}' action must name '{message.Id}', the message node it follows.");
        }
        var channel = node.Reaction == "pushOpened" ? NodeTypes.Push : NodeTypes.Email;
        if (node.Reaction is not null && NodeTypes.Reactions.Contains(node.Reaction) && message.Type != channel)
        {
            error(node.Id, "reaction.channelMismatch", $"Reaction '{node.Reaction}' cannot happen on a {message.Type} node.");
        }
    }

    private static void CheckTimeout(NodeDefinition node, TimeSpan min, TimeSpan max, Action<string?, string, string> error)
    {
        if (node.Timeout is null)
        {
            if (node.TimeoutNext is not null)
            {
                error(node.Id, "timeout.missing", $"Node '{node.Id}' has a timeoutNext but no timeout.");
            }
            return;
        }
        if (!IsoDuration.TryParse(node.Timeout, out var timeout))
        {
            error(node.Id, "timeout.invalid", $"Node '{node.Id}' timeout '{node.Timeout}' is not an ISO 8601 duration such as P1D.");
        }
        else if (timeout < min || timeout > max)
        {
            error(node.Id, "timeout.outOfRange", $"Node '{node.Id}' timeout must be between {IsoDuration.Format(min)} and {IsoDuration.Format(max)} (the journey timeout); test mode overrides it.");
        }
    }

    private static void CheckWait(NodeDefinition node, TimeSpan journeyTimeout, Action<string?, string, string> error)
    {
        if ((node.Duration is null) == (node.Until is null))
        {
            error(node.Id, "wait.invalid", $"Wait '{node.Id}' needs exactly one of duration or until.");
        }
        else if (node.Duration is not null && !IsoDuration.TryParse(node.Duration, out var duration))
        {
            error(node.Id, "wait.invalid", $"Wait '{node.Id}' duration '{node.Duration}' is not an ISO 8601 duration.");
        }
        else if (node.Duration is not null && IsoDuration.TryParse(node.Duration, out duration) && duration >= journeyTimeout)
        {
            error(node.Id, "wait.exceedsJourneyTimeout", $"Wait '{node.Id}' lasts {node.Duration}, longer than the journey timeout {IsoDuration.Format(journeyTimeout)}.");
        }
        else if (node.Until is { At: null } local)
        {
            CheckLocalUntil(node, local, error);
        }
    }

    private void CheckTemplate(NodeDefinition node, string field, string? template, bool required, Action<string?, string, string> error)
    {
        if (string.IsNullOrEmpty(template))
        {
            if (required)
            {
                error(node.Id, "template.missing", $"Node '{node.Id}' needs a {field}.");
            }
            return;
        }
        var check = templates.Check(template);
        if (!check.Ok)
        {
            error(node.Id, "template.invalid", $"Node '{node.Id}' {field} does not compile: {check.Error}");
        }
    }

    private static void CheckCondition(NodeDefinition node, Action<string?, string, string> error)
    {
        var branches = node.Branches ?? [];
        if (branches.Count == 0)
        {
            error(node.Id, "condition.noBranches", $"Condition '{node.Id}' has no branches.");
        }
        foreach (var (branch, i) in branches.Select((b, i) => (b, i)))
        {
            if ((branch.When is null) == (branch.Percent is null))
            {
                error(node.Id, "condition.branchInvalid", $"Condition '{node.Id}' branches[{i}] needs exactly one of when (an expression) or percent.");
            }
            else if (branch.When is not null && !ExpressionParser.TryParse(branch.When, out _, out var parseError))
            {
                error(node.Id, "condition.invalid", $"Condition '{node.Id}' branches[{i}].when: {parseError!.Message}");
            }
            else if (branch.Percent is < 0 or > 100)
            {
                error(node.Id, "condition.branchInvalid", $"Condition '{node.Id}' branches[{i}].percent must be between 0 and 100.");
            }
            if (branch.Next is null)
            {
                error(node.Id, "condition.branchInvalid", $"Condition '{node.Id}' branches[{i}] has no next.");
            }
        }
        if (branches.Where(b => b.Percent is not null).Sum(b => b.Percent!.Value) > 100)
        {
            error(node.Id, "condition.branchInvalid", $"Condition '{node.Id}' percentages add up to more than 100.");
        }
    }
}
