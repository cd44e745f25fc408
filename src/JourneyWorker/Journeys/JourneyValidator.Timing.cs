using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Journeys;

/// <summary>What message nodes and waits say about time and pressure: categories, capped paths, send windows, local times.</summary>
public sealed partial class JourneyValidator
{
    private static void CheckMessageRules(NodeDefinition node, Action<string?, string, string> error)
    {
        if (node.Category is not null && !MessageCategory.All.Contains(node.Category))
        {
            error(node.Id, "category.invalid", $"Node '{node.Id}' category '{node.Category}' is not one of {string.Join(", ", MessageCategory.All)}.");
        }
        if (node.Category == MessageCategory.Transactional && node.CappedNext is not null)
        {
            error(node.Id, "cappedNext.transactional", $"Node '{node.Id}' is transactional: frequency rules never cap it, so its cappedNext is never taken.");
        }
        if (node.SendWindow is { } window)
        {
            CheckSendWindow(node, window, error);
        }
    }

    /// <summary>Members only message nodes take.</summary>
    private static void CheckNotMessage(NodeDefinition node, Action<string?, string, string> error)
    {
        foreach (var (field, present) in new[] { ("category", node.Category is not null), ("cappedNext", node.CappedNext is not null), ("sendWindow", node.SendWindow is not null) })
        {
            if (present)
            {
                error(node.Id, $"{field}.notAllowed", $"Node '{node.Id}' is a {node.Type} node: only email and push nodes take {field}.");
            }
        }
    }

    private static void CheckSendWindow(NodeDefinition node, SendWindowDefinition window, Action<string?, string, string> error)
    {
        if (window.Days is not { Count: > 0 } days)
        {
            error(node.Id, "sendWindow.daysInvalid", $"Node '{node.Id}' sendWindow.days is empty: name at least one of {string.Join(", ", SendWindowDays)}.");
        }
        else
        {
            foreach (var day in days.Where(d => d is null || !SendWindow.DayNames.Contains(d)))
            {
                error(node.Id, "sendWindow.daysInvalid", $"Node '{node.Id}' sendWindow.days has '{day}', which is not one of {string.Join(", ", SendWindowDays)}.");
            }
        }

        var fromValid = LocalTimes.TryParseTimeOfDay(window.From, out var from);
        var toValid = LocalTimes.TryParseTimeOfDay(window.To, out var to);
        if (!fromValid)
        {
            error(node.Id, "sendWindow.timeInvalid", $"Node '{node.Id}' sendWindow.from '{window.From}' is not a time of day HH:mm (00:00 to 23:59).");
        }
        if (!toValid)
        {
            error(node.Id, "sendWindow.timeInvalid", $"Node '{node.Id}' sendWindow.to '{window.To}' is not a time of day HH:mm (00:00 to 23:59).");
        }
        if (fromValid && toValid && from == to)
        {
            error(node.Id, "sendWindow.empty", $"Node '{node.Id}' sendWindow opens and closes at {window.From}: leave sendWindow out to send at any time, or give a window (from after to spans midnight).");
        }
        CheckZone(node, "sendWindow.timeZone", window.TimeZone, error);
        foreach (var member in window.Unknown?.Select(p => p.Key) ?? [])
        {
            error(node.Id, "node.unknownProperty", $"Node '{node.Id}' sendWindow has an unknown property '{member}'.");
        }
    }

    /// <summary>A wait until the next local time of day (the object form of until).</summary>
    private static void CheckLocalUntil(NodeDefinition node, WaitUntil until, Action<string?, string, string> error)
    {
        if (!LocalTimes.TryParseTimeOfDay(until.Time, out _))
        {
            error(node.Id, "wait.invalid", $"Wait '{node.Id}' until.time '{until.Time}' is not a time of day HH:mm (00:00 to 23:59).");
        }
        CheckZone(node, "until.timeZone", until.TimeZone, error);
        foreach (var member in until.Unknown?.Select(p => p.Key) ?? [])
        {
            error(node.Id, "node.unknownProperty", $"Wait '{node.Id}' until has an unknown property '{member}'.");
        }
    }

    /// <summary>"profile" (also when left out) or a zone of the host's tz database.</summary>
    private static void CheckZone(NodeDefinition node, string field, string? zone, Action<string?, string, string> error)
    {
        if (zone is not null && zone != LocalTimes.ProfileZone && !LocalTimes.TryFindZone(zone, out _))
        {
            error(node.Id, "timeZone.unknown", $"Node '{node.Id}' {field} '{zone}' is neither \"{LocalTimes.ProfileZone}\" nor a known IANA time zone (e.g. Europe/Berlin).");
        }
    }

    private static readonly string[] SendWindowDays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
}
