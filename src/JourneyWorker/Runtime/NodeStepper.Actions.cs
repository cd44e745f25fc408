using System.Text.Json.Nodes;
using JourneyWorker.Channels.Templates;
using JourneyWorker.Data;
using JourneyWorker.Journeys.Model;
using JourneyWorker.Profiles;

namespace JourneyWorker.Runtime;

/// <summary>The nodes that act on the profile instead of messaging it: updateProfile and jump.</summary>
public sealed partial class NodeStepper
{
    /// <summary>The longest value (as JSON) one updateProfile entry may write: an imported profile line's size.</summary>
    public const int MaxAttributeValueLength = 64 * 1024;

    /// <summary>
    /// Renders every value of the node against the profile as it was when the node was reached, then sets them all, or
    /// none: a value that cannot be rendered, is too long or has a non-object on its path fails the node, which is
    /// recorded and the instance goes on along next with the profile unchanged by it (an attribute write is
    /// bookkeeping; holding the person's journey over it would be worse). The write reaches the database with this
    /// run's next write, in its transaction.
    /// </summary>
    private Flow UpdateProfile(InstanceRun run, NodeDefinition node)
    {
        run.Step(node.Id!, StepOutcome.Entered);
        var model = MessageDispatcher.Model(run);
        var updates = new List<ProfileUpdate>();
        foreach (var (path, template) in node.Set ?? [])
        {
            JsonNode? value;
            try
            {
                value = templates.RenderValue(template, model);
            }
            catch (TemplateRenderException e)
            {
                return FailedAction(run, node, $"The value of '{path}' could not be rendered: {e.Message}");
            }
            if (value is not null && value.ToJsonString().Length > MaxAttributeValueLength)
            {
                return FailedAction(run, node, $"The value of '{path}' is longer than {MaxAttributeValueLength} characters.");
            }
            updates.Add(new ProfileUpdate(path, value));
        }

        var attributes = JsonNode.Parse(run.Profile!.Attributes) as JsonObject ?? [];
        foreach (var update in updates)
        {
            if (!ProfileAttributes.TrySet(attributes, update.Path, update.Value?.DeepClone()))
            {
                return FailedAction(run, node, $"'{update.Path}' cannot be set: a value on its way is not an object, and a journey does not overwrite it.");
            }
        }
        run.UpdateProfile(attributes.ToJsonString(), updates);
        run.Step(node.Id!, StepOutcome.Succeeded, $"Set {string.Join(", ", updates.Select(u => u.Path))}.");
        run.MoveTo(node.Next);
        return Flow.Continue;
    }

    /// <summary>
    /// The instance goes on along next whatever happens to the jump; whether the profile enters the other journey is
    /// decided inside the transaction that writes this step (the store fills in its outcome and detail), so the
    /// admission and the step commit together or not at all.
    /// </summary>
    private static Flow Jump(InstanceRun run, NodeDefinition node)
    {
        run.Step(node.Id!, StepOutcome.Entered);
        var step = run.Step(node.Id!, StepOutcome.Failed, "The jump was not settled.");
        run.Jumps.Add(new PendingJump(node, Guid.TryParse(node.Journey, out var target) ? target : Guid.Empty, step));
        run.MoveTo(node.Next);
        return Flow.Continue;
    }

    private static Flow FailedAction(InstanceRun run, NodeDefinition node, string reason)
    {
        run.Step(node.Id!, StepOutcome.Failed, reason);
        run.MoveTo(node.Next);
        return Flow.Continue;
    }
}
