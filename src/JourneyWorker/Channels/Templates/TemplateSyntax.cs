namespace JourneyWorker.Channels.Templates;

/// <summary>Lexical checks on Liquid markup that Fluid's parser does not offer as options.</summary>
internal static class TemplateSyntax
{
    /// <summary>Offset of a range operator ('..') inside a Liquid tag or output, ignoring string literals; null if none.</summary>
    public static int? FindRange(string template)
    {
        var i = 0;
        while (i < template.Length - 1)
        {
            var open = template.IndexOfAny(['{'], i);
            if (open < 0 || open + 1 >= template.Length)
            {
                return null;
            }
            var kind = template[open + 1];
            if (kind is not ('{' or '%'))
            {
                i = open + 1;
                continue;
            }

            var close = kind == '{' ? "}}" : "%}";
            char? quote = null;
            var j = open + 2;
            for (; j < template.Length; j++)
            {
                var c = template[j];
                if (quote is { } q)
                {
                    if (c == q)
                    {
                        quote = null;
                    }
                }
                else if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c == '.' && j + 1 < template.Length && template[j + 1] == '.')
                {
                    return j;
                }
                else if (string.CompareOrdinal(template, j, close, 0, 2) == 0)
                {
                    break;
                }
            }
            i = j + 2;
        }
        return null;
    }
}
