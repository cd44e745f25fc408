using System.Globalization;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Runtime.Store;

namespace JourneyWorker.Runtime;

/// <summary>Send windows: a message due outside its node's window waits for the window to open, in the profile's local time.</summary>
public sealed partial class MessageDispatcher
{
    /// <summary>
    /// Whether the send waits (the run is then waiting until the window's next opening, with an entered step that says
    /// so), and a note for the entered step when it does not (a profile zone that fell back to the default). A run
    /// woken from such a wait checks again: a late wake-up may have missed the window. In test mode the wait lasts the
    /// test's waitOverride and the message then leaves whatever the time, like every other test wait.
    /// </summary>
    private (bool Deferred, string? Note) DeferToWindow(InstanceRun run, NodeDefinition node)
    {
        if (node.SendWindow is not { } definition || !SendWindow.TryParse(definition, out var window))
        {
            return (false, null);
        }
        var woke = run.WokeFromWindow == node.Id;
        var testWait = run.Instance.IsTest ? run.Journey!.Version.WaitOverride : null;
        if (woke && testWait is not null)
        {
            return (false, null);
        }

        var (zone, warning) = zones.For(definition.TimeZone, run);
        if (window!.NextOpening(run.Now, zone) is not { } opening)
        {
            return (false, warning);
        }

        var until = testWait is { } wait ? run.Now + wait : opening;
        if (!woke)
        {
            var local = TimeZoneInfo.ConvertTime(opening, zone);
            var detail = string.Create(CultureInfo.InvariantCulture,
                $"Outside the send window {window} ({zone.Id}): waits until {local:ddd yyyy-MM-dd HH:mm} local, {opening.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}.");
            if (testWait is { } overridden)
            {
                detail += $" Test mode: waits {IsoDuration.Format(overridden)} instead.";
            }
            run.Step(node.Id!, StepOutcome.Entered, warning is null ? detail : $"{detail} {warning}");
        }
        run.Wait(WaitKeys.SendWindow, until);
        return (true, null);
    }
}
