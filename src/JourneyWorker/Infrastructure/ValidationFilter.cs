using FluentValidation;

namespace JourneyWorker.Infrastructure;

/// <summary>Runs the FluentValidation validator of every argument that has one; all problems are reported together.</summary>
public sealed class ValidationFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        Dictionary<string, string[]>? errors = null;
        foreach (var argument in context.Arguments)
        {
            if (argument is null || argument is CancellationToken || argument is HttpContext)
            {
                continue;
            }

            var validatorType = typeof(IValidator<>).MakeGenericType(argument.GetType());
            if (context.HttpContext.RequestServices.GetService(validatorType) is not IValidator validator)
            {
                continue;
            }

            var result = await validator.ValidateAsync(new ValidationContext<object>(argument), context.HttpContext.RequestAborted);
            if (!result.IsValid)
            {
                errors ??= [];
                foreach (var group in result.Errors.GroupBy(e => ToJsonPath(e.PropertyName)))
                {
                    errors[group.Key] = [.. group.Select(e => e.ErrorMessage)];
                }
            }
        }

        return errors is null ? await next(context) : TypedResults.ValidationProblem(errors);
    }

    /// <summary>"PushTokens[0].Token" becomes "pushTokens[0].token", the name the client sent.</summary>
    private static string ToJsonPath(string propertyName) =>
        string.Join('.', propertyName.Split('.').Select(part => part.Length == 0 ? part : char.ToLowerInvariant(part[0]) + part[1..]));
}

public static class ValidationExtensions
{
    public static RouteGroupBuilder WithValidation(this RouteGroupBuilder group) => group.AddEndpointFilter<ValidationFilter>();
}
