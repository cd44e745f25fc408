using System.Buffers;
using System.IO.Pipelines;

namespace JourneyWorker.Profiles;

/// <summary>One line of an NDJSON stream: its 1-based number and its bytes, or null when it was longer than allowed.</summary>
public readonly record struct NdjsonLine(long Number, byte[]? Bytes);

/// <summary>Reads NDJSON from a pipe one line at a time, never holding more than one line (capped) in memory.</summary>
public static class NdjsonLineReader
{
    public static async IAsyncEnumerable<NdjsonLine> ReadAsync(
        PipeReader reader, int maxLineBytes, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long number = 0;
        var skippingLongLine = false;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var lines = new List<NdjsonLine>();
            while (TryTakeLine(ref buffer, out var line))
            {
                number++;
                if (skippingLongLine)
                {
                    skippingLongLine = false;
                    lines.Add(new NdjsonLine(number, null));
                }
                else
                {
                    lines.Add(line.Length > maxLineBytes ? new NdjsonLine(number, null) : new NdjsonLine(number, line.ToArray()));
                }
            }

            if (!skippingLongLine && buffer.Length > maxLineBytes)
            {
                // The current line is already too long: drop what we have and skip to its end.
                skippingLongLine = true;
                buffer = buffer.Slice(buffer.End);
            }
            else if (skippingLongLine)
            {
                buffer = buffer.Slice(buffer.End);
            }

            if (result.IsCompleted)
            {
                if (skippingLongLine)
                {
                    lines.Add(new NdjsonLine(++number, null));
                }
                else if (buffer.Length > 0)
                {
                    lines.Add(new NdjsonLine(++number, buffer.ToArray()));
                }
                buffer = buffer.Slice(buffer.End);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            foreach (var line in lines)
            {
                yield return line;
            }

            if (result.IsCompleted)
            {
                yield break;
            }
        }
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null)
        {
            line = default;
            return false;
        }

        line = buffer.Slice(0, position.Value);
        if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
        {
            line = line.Slice(0, line.Length - 1);
        }
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }
}
