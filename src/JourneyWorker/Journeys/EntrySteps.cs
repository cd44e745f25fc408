using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
namespace JourneyWorker.Journeys;

/// <summary>
/// The two steps every instance starts with: its start node entered and succeeded, at the moment it
/// entered. They are not stored: writing two history rows per admitted profile tripled the rows a
/// Read Audience writes. The instance row already says when it entered and its journey version which
/// node it entered by, so history and reports present them from there. Stored steps start at
/// <see cref="StoredSteps.FirstSeq"/>, so these keep seqs 0 and 1 and every other seq is unchanged.
/// </summary>
public static class EntrySteps
{
    /// <summary>What the entry step says about how the profile came in.</summary>
    public static string? Detail(NodeDefinition start) => start.Type switch
    {
        NodeTypes.ReadAudience => "Read Audience",
        NodeTypes.Event => $"'{start.Event}' event",
        NodeTypes.JourneyEntry => "Jump from another journey",
        NodeTypes.AudienceQualification => start.On == NodeTypes.OnExit ? "Left the audience" : "Qualified for the audience",
        _ => null,
    };

    public static StepResponse[] For(NodeDefinition start, DateTime enteredAt)
    {
        var detail = Detail(start);
        return
        [
            new StepResponse(0, start.Id!, StepOutcome.Entered, enteredAt, detail),
            new StepResponse(1, start.Id!, StepOutcome.Succeeded, enteredAt, detail),
        ];
    }
}
