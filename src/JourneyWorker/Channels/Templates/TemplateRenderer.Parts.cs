using System.Globalization;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Parser;

namespace JourneyWorker.Channels.Templates;

/// <summary>
/// A template that is only text and outputs (<c>{{ … }}</c>, no tags): its text pieces, rendered once, around the outputs.
/// Rendering it is the pieces with each output's value between them, so what is the same for every profile can be worked
/// on once (the links found, the text alternative derived).
/// </summary>
public sealed class TemplateParts
{
    internal TemplateParts(IReadOnlyList<string> literals, IReadOnlyList<OutputStatement> outputs)
    {
        Literals = literals;
        Outputs = outputs;
    }

    /// <summary>One more than the outputs: the text before the first output, between outputs, after the last.</summary>
    public IReadOnlyList<string> Literals { get; }

    internal IReadOnlyList<OutputStatement> Outputs { get; }
}

public sealed partial class TemplateRenderer
{
    /// <summary>The parts of <paramref name="template"/>, or null when it has tags (its output then depends on more than values) or does not parse.</summary>
    public TemplateParts? Parts(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (!TryGet(template, out var parsed, out _) || parsed is not FluidTemplate fluid)
        {
            return null;
        }
        var literals = new List<string>();
        var outputs = new List<OutputStatement>();
        var context = new TemplateContext(_options);
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        foreach (var statement in fluid.Statements)
        {
            switch (statement)
            {
                case TextSpanStatement span:
                    // Rendered once: a text span writes the same characters (whitespace control applied) for every profile.
                    var writing = span.WriteToAsync(text, NullEncoder.Default, context);
                    if (!writing.IsCompletedSuccessfully)
                    {
                        return null;
                    }
                    break;
                case OutputStatement output:
                    literals.Add(text.ToString());
                    text.GetStringBuilder().Clear();
                    outputs.Add(output);
                    break;
                default:
                    return null;
            }
        }
        literals.Add(text.ToString());
        return new TemplateParts(literals, outputs);
    }

    /// <summary>
    /// Each output of <paramref name="parts"/> rendered for <paramref name="model"/> (HTML-escaped when <paramref name="html"/>
    /// is set), in order; with the same bounds and errors as <see cref="Render"/> (the pieces and values together are the output).
    /// </summary>
    public string[] RenderValues(TemplateParts parts, TemplateModel model, bool html)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(model);
        var context = Context(model);
        var encoder = html ? Html : (TextEncoder)NullEncoder.Default;
        var values = new string[parts.Outputs.Count];
        var length = 0;
        foreach (var literal in parts.Literals)
        {
            length += literal.Length;
        }
        using var writer = new BoundedStringWriter(MaxOutputLength - length);
        try
        {
            for (var i = 0; i < values.Length; i++)
            {
                var start = writer.GetStringBuilder().Length;
                var rendering = parts.Outputs[i].WriteToAsync(writer, encoder, context);
                if (!rendering.IsCompletedSuccessfully)
                {
                    rendering.AsTask().GetAwaiter().GetResult();
                }
                values[i] = writer.GetStringBuilder().ToString(start, writer.GetStringBuilder().Length - start);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OutputTooLongException or ArgumentException or FormatException or OverflowException)
        {
            throw new TemplateRenderException($"The template could not be rendered: {(ex is OutputTooLongException ? new OutputTooLongException(MaxOutputLength).Message : ex.Message)}", ex);
        }
        return values;
    }
}
