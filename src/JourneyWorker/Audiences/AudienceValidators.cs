using FluentValidation;
using JourneyWorker.Expressions;

namespace JourneyWorker.Audiences;

public sealed class AudienceRequestValidator : AbstractValidator<AudienceRequest>
{
    public const int MaxNameLength = 200;

    public AudienceRequestValidator()
    {
        RuleFor(a => a.Name).NotEmpty().MaximumLength(MaxNameLength);
        RuleFor(a => a.Rule).NotEmpty().Custom((rule, context) =>
        {
            if (!string.IsNullOrEmpty(rule) && RuleChecks.Problem(rule) is { } problem)
            {
                context.AddFailure(problem.Message);
            }
        });
    }
}

public static class RuleChecks
{
    /// <summary>Why a rule cannot be stored: it does not parse, or it is too complex to run in SQL; null when it is fine.</summary>
    public static ExpressionError? Problem(string rule)
    {
        if (!ExpressionParser.TryParse(rule, out var expression, out var error))
        {
            return error;
        }

        try
        {
            // Either storage may run the rule (and a database can move from one to the other), so it must fit both.
            foreach (var dialect in Enum.GetValues<SqlDialect>())
            {
                _ = ExpressionSql.ToSql(expression!, "Attributes", DateTimeOffset.UnixEpoch, dialect);
            }
            return null;
        }
        catch (ExpressionParseException e)
        {
            return e.Error;
        }
    }
}
