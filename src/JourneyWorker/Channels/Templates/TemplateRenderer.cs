using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Fluid;
using Fluid.Ast;
using Fluid.Parser;
using Fluid.Values;

namespace JourneyWorker.Channels.Templates;

/// <summary>
/// What a template sees: <c>profile</c> (attributes plus <c>id</c>), <c>events</c> (name → payload), <c>journey</c> (name, id,
/// version), <c>webhooks</c> (webhook node → its JSON answer).
/// </summary>
public sealed record TemplateModel(JsonObject Profile, JsonObject Events, JsonObject Journey, JsonObject? Webhooks = null);

public sealed record TemplateCheck(bool Ok, string? Error)
{
    public static readonly TemplateCheck Valid = new(true, null);
}

/// <summary>A template that cannot be parsed or exceeded a render bound.</summary>
public sealed class TemplateRenderException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Liquid rendering for message parts. Templates are written by journey authors but may be edited by
/// many people, so rendering is bounded: a length limit, a step limit, an output limit, and no tags
/// that build values of unbounded size (assign/capture doubling, ranges, includes).
/// </summary>
public sealed partial class TemplateRenderer
{
    public const int MaxTemplateLength = 256 * 1024;
    public const int MaxOutputLength = 2 * 1024 * 1024;
    public const int MaxSteps = 100_000;
    private const int MaxCachedTemplates = 2048;

    // Tags whose output or memory can grow without a bound the step counter sees, or that reach outside the template.
    private static readonly string[] DisabledTags = ["assign", "capture", "include", "render", "liquid", "tablerow", "layout", "section", "renderbody", "rendersection", "macro", "from"];

    // Keeps non-ASCII text readable while still escaping the characters that matter in HTML.
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly FluidParser _parser;
    private readonly TemplateOptions _options;
    private readonly ConcurrentDictionary<string, IFluidTemplate> _cache = new(StringComparer.Ordinal);

    public TemplateRenderer(TimeProvider time)
    {
        _parser = new FluidParser();
        foreach (var tag in DisabledTags)
        {
            _parser.RegisteredTags.Remove(tag);
        }
        _options = new TemplateOptions
        {
            MaxSteps = MaxSteps,
            MaxRecursion = 16,
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            Now = time.GetUtcNow,
        };
    }

    public TemplateCheck Check(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return TryGet(template, out _, out var error) ? TemplateCheck.Valid : new TemplateCheck(false, error);
    }

    /// <summary>Renders <paramref name="template"/>; values are HTML-escaped when <paramref name="html"/> is set. Throws <see cref="TemplateRenderException"/> on a bad template or an exceeded bound.</summary>
    public string Render(string template, TemplateModel model, bool html)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(model);
        if (!TryGet(template, out var parsed, out var error))
        {
            throw new TemplateRenderException(error!);
        }

        var context = Context(model);
        using var writer = new BoundedStringWriter(MaxOutputLength);
        try
        {
            // Nothing in the model or the enabled tags awaits, so this completes synchronously; the fallback is for safety.
            var rendering = parsed.RenderAsync(writer, html ? Html : NullEncoder.Default, context);
            if (!rendering.IsCompletedSuccessfully)
            {
                rendering.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OutputTooLongException or ArgumentException or FormatException or OverflowException)
        {
            // Fluid reports its step and recursion limits as InvalidOperationException.
            throw new TemplateRenderException($"The template could not be rendered: {ex.Message}", ex);
        }
        return writer.ToString();
    }

    /// <summary>
    /// Renders <paramref name="template"/> as a JSON value for a profile attribute. A template that is exactly one
    /// output (<c>{{ expression }}</c>, filters allowed) keeps its value's type: a number stays a number, a boolean a
    /// boolean, a missing value is null. Anything else (text around the output, several outputs, tags, an object or
    /// list value) is rendered as text (not HTML-escaped), as a message part would be.
    /// </summary>
    public JsonNode? RenderValue(string template, TemplateModel model)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(model);
        if (!TryGet(template, out var parsed, out var error))
        {
            throw new TemplateRenderException(error!);
        }
        if (parsed is not FluidTemplate { Statements: [OutputStatement output] })
        {
            return JsonValue.Create(Render(template, model, html: false));
        }

        FluidValue value;
        try
        {
            var evaluating = output.Expression.EvaluateAsync(Context(model));
            value = evaluating.IsCompletedSuccessfully ? evaluating.Result : evaluating.AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            throw new TemplateRenderException($"The template could not be rendered: {ex.Message}", ex);
        }
        return value.Type switch
        {
            FluidValues.Number => JsonValue.Create(value.ToNumberValue()),
            FluidValues.Boolean => JsonValue.Create(value.ToBooleanValue()),
            FluidValues.Nil or FluidValues.Empty or FluidValues.Blank => null,
            _ => JsonValue.Create(Render(template, model, html: false)),
        };
    }

    private TemplateContext Context(TemplateModel model)
    {
        var context = new TemplateContext(_options);
        context.SetValue("profile", model.Profile);
        context.SetValue("events", model.Events);
        context.SetValue("journey", model.Journey);
        context.SetValue("webhooks", model.Webhooks ?? []);
        return context;
    }

    private bool TryGet(string template, out IFluidTemplate parsed, out string? error)
    {
        if (_cache.TryGetValue(template, out parsed!))
        {
            error = null;
            return true;
        }

        if (template.Length > MaxTemplateLength)
        {
            error = $"The template is {template.Length} characters long; at most {MaxTemplateLength} are allowed.";
            return false;
        }

        if (TemplateSyntax.FindRange(template) is { } position)
        {
            // Fluid materialises a range before counting steps, so (1..100000000) would allocate first and stop later.
            error = $"Ranges ('..') are not allowed in templates (at offset {position}).";
            return false;
        }

        if (!_parser.TryParse(template, out parsed!, out error))
        {
            error = $"Template syntax error: {error}";
            return false;
        }

        if (_cache.Count >= MaxCachedTemplates)
        {
            // Templates are few and stable per journey version; a full cache means churn, so start over rather than track recency.
            _cache.Clear();
        }
        _cache.TryAdd(template, parsed);
        error = null;
        return true;
    }

    private sealed class OutputTooLongException(int limit) : Exception($"The rendered output exceeds {limit} characters.");

    private sealed class BoundedStringWriter(int limit) : StringWriter(CultureInfo.InvariantCulture)
    {
        public override void Write(char value)
        {
            Ensure(1);
            base.Write(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            Ensure(count);
            base.Write(buffer, index, count);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            Ensure(buffer.Length);
            base.Write(buffer);
        }

        public override void Write(string? value)
        {
            Ensure(value?.Length ?? 0);
            base.Write(value);
        }

        private void Ensure(int more)
        {
            if (GetStringBuilder().Length + more > limit)
            {
                throw new OutputTooLongException(limit);
            }
        }
    }
}
