using System.Text.RegularExpressions;
using FluentValidation;
using JourneyWorker.Expressions;
using JourneyWorker.Profiles;

namespace JourneyWorker.Events;

public sealed partial class EventConfigRequestValidator : AbstractValidator<EventConfigRequest>
{
    public const string RuleBased = "ruleBased";
    public const string SystemGenerated = "systemGenerated";
    public const int MaxFields = 200;

    public EventConfigRequestValidator()
    {
        // The name is how journeys refer to the event (events.<name>.<path>), so it must be an identifier.
        RuleFor(c => c.Name).NotEmpty().MaximumLength(100)
            .Must(n => n is null || Identifier().IsMatch(n)).WithMessage("'name' must be an identifier: a letter or '_', then letters, digits or '_'.");
        RuleFor(c => c.IdType).NotEmpty()
            .Must(t => t is null or RuleBased or SystemGenerated).WithMessage($"'idType' must be {RuleBased} or {SystemGenerated}.");
        RuleFor(c => c.Condition).NotEmpty().When(c => c.IdType == RuleBased)
            .WithMessage("A ruleBased configuration needs a 'condition'.");
        RuleFor(c => c.Condition).Custom((condition, context) =>
        {
            if (!string.IsNullOrEmpty(condition) && !ExpressionParser.TryParse(condition, out _, out var error))
            {
                context.AddFailure(error!.Message);
            }
        });
        RuleFor(c => c.Namespace).NotEmpty().Must(IdentityRules.IsValid).WithMessage(IdentityRules.Message("namespace"));
        RuleFor(c => c.ProfileIdentifier).NotEmpty()
            .Must(p => p is null || IsPath(p)).WithMessage("'profileIdentifier' must be a dotted path of identifiers, e.g. customer.email.");
        RuleFor(c => c.Fields).Must(f => f is null || f.Count <= MaxFields).WithMessage($"At most {MaxFields} fields.")
            .Must(f => f is null || f.Where(x => x?.Path is not null).GroupBy(x => x.Path).All(g => g.Count() == 1))
            .WithMessage("Each field path may be declared once.");
        RuleForEach(c => c.Fields).NotNull().ChildRules(field =>
        {
            field.RuleFor(f => f.Path).NotEmpty().Must(p => p is null || IsPath(p))
                .WithMessage("'path' must be a dotted path of identifiers, e.g. order.total.");
            field.RuleFor(f => f.Type).NotEmpty().Must(t => t is null || EventFieldChecker.Types.Contains(t))
                .WithMessage($"'type' must be one of {string.Join(", ", EventFieldChecker.Types)}.");
        });
    }

    public static bool IsPath(string path) => path.Length <= 500 && path.Split('.').All(Identifier().IsMatch);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}
