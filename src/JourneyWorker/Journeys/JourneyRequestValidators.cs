using FluentValidation;
using JourneyWorker.Journeys.Model;

namespace JourneyWorker.Journeys;

/// <summary>What must hold for a draft to be stored at all; the graph itself is checked by validate/publish.</summary>
public sealed class JourneyDefinitionValidator : AbstractValidator<JourneyDefinition>
{
    public JourneyDefinitionValidator()
    {
        RuleFor(j => j.Name).NotEmpty().MaximumLength(200);
        RuleFor(j => j.Nodes).Must(n => n is null || n.Count <= 200).WithMessage("A journey holds at most 200 nodes (50 may be published).");
        // A null node or branch would reach the graph checks as a null reference: refuse it here.
        RuleForEach(j => j.Nodes).NotNull().WithMessage("A node must be an object, not null.");
        RuleForEach(j => j.Nodes).ChildRules(node =>
        {
            node.RuleForEach(n => n.Branches).NotNull().WithMessage("A condition branch must be an object, not null.");
            node.RuleFor(n => n.Id).MaximumLength(100);
            node.RuleFor(n => n.Html).MaximumLength(512 * 1024);
            node.RuleFor(n => n.Subject).MaximumLength(2_000);
        });
    }
}

public sealed class TestModeRequestValidator : AbstractValidator<TestModeRequest>
{
    public TestModeRequestValidator()
    {
        RuleFor(r => r.WaitOverride)
            .Must(w => w is null || (IsoDuration.TryParse(w, out var d) && d <= TimeSpan.FromDays(1)))
            .WithMessage("waitOverride must be an ISO 8601 duration up to P1D, such as PT5S.");
    }
}
