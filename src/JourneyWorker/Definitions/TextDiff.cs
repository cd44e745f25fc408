namespace JourneyWorker.Definitions;

/// <summary>A line diff of two definition texts for the plan: '-' server, '+' folder, a few lines of context around each change.</summary>
public static class TextDiff
{
    /// <summary>Past this many cells the middle is shown as removed and added whole instead of aligned line by line.</summary>
    private const long MaxCells = 4_000_000;

    public static IReadOnlyList<string> Lines(string before, string after, int context = 2)
    {
        var a = before.TrimEnd('\n').Split('\n');
        var b = after.TrimEnd('\n').Split('\n');
        // Changes are usually a few lines in a long definition: only the part between the common ends is aligned.
        var prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }
        var suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[^(suffix + 1)] == b[^(suffix + 1)])
        {
            suffix++;
        }

        var edits = new List<(char Op, string Line)>();
        edits.AddRange(a.Take(prefix).Select(l => (' ', l)));
        edits.AddRange(Middle(a[prefix..(a.Length - suffix)], b[prefix..(b.Length - suffix)]));
        edits.AddRange(a.Skip(a.Length - suffix).Select(l => (' ', l)));
        return WithContext(edits, context);
    }

    private static List<(char, string)> Middle(string[] a, string[] b)
    {
        var result = new List<(char, string)>();
        if ((long)a.Length * b.Length > MaxCells)
        {
            result.AddRange(a.Select(l => ('-', l)));
            result.AddRange(b.Select(l => ('+', l)));
            return result;
        }
        // Longest common subsequence, filled from the end so that the walk below goes forwards.
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                result.Add((' ', a[x++]));
                y++;
            }
            else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1]))
            {
                result.Add(('-', a[x++]));
            }
            else
            {
                result.Add(('+', b[y++]));
            }
        }
        return result;
    }

    private static List<string> WithContext(List<(char Op, string Line)> edits, int context)
    {
        var keep = new bool[edits.Count];
        for (var i = 0; i < edits.Count; i++)
        {
            if (edits[i].Op != ' ')
            {
                for (var k = Math.Max(0, i - context); k <= Math.Min(edits.Count - 1, i + context); k++)
                {
                    keep[k] = true;
                }
            }
        }
        var lines = new List<string>();
        for (var i = 0; i < edits.Count; i++)
        {
            if (!keep[i])
            {
                continue;
            }
            if (i > 0 && !keep[i - 1])
            {
                lines.Add("  …");
            }
            lines.Add($"{edits[i].Op} {edits[i].Line}");
        }
        if (edits.Count > 0 && !keep[^1] && lines.Count > 0)
        {
            lines.Add("  …");
        }
        return lines;
    }
}
