using System.Globalization;
using System.Net;

namespace JourneyWorker.Profiles;

/// <summary>
/// What the import command has sent of its file: redrawn in place on a terminal (at most five times a second), a line
/// per tenth of the file otherwise (a log, a CI job), so that a redirected output stays readable.
/// </summary>
internal sealed class ProgressBar(TextWriter output, bool interactive, long total, TimeProvider time)
{
    private const int Width = 30;
    private readonly long _started = time.GetTimestamp();
    private long _drawnAt = long.MinValue;
    private int _tenthsShown;
    private long _bytes;
    private long _lines;
    private bool _finished;

    public void Sent(ReadOnlySpan<byte> chunk)
    {
        _bytes += chunk.Length;
        _lines += chunk.Count((byte)'\n');
        var now = time.GetTimestamp();
        if (interactive)
        {
            if (_drawnAt != long.MinValue && time.GetElapsedTime(_drawnAt, now) < TimeSpan.FromMilliseconds(200))
            {
                return;
            }
        }
        else
        {
            var tenths = total > 0 ? (int)(_bytes * 10 / total) : 0;
            if (tenths <= _tenthsShown)
            {
                return;
            }
            _tenthsShown = tenths;
        }
        _drawnAt = now;
        Draw();
    }

    public void Finish()
    {
        if (_finished)
        {
            return;
        }
        _finished = true;
        if (interactive || _tenthsShown < 10)
        {
            _tenthsShown = 10;
            Draw();
        }
        if (interactive)
        {
            output.WriteLine();
        }
    }

    private void Draw()
    {
        var share = total > 0 ? Math.Min(1, (double)_bytes / total) : 1;
        var filled = (int)(share * Width);
        var seconds = time.GetElapsedTime(_started).TotalSeconds;
        var rate = seconds > 0 ? _lines / seconds : 0;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] {share * 100,3:N0}% {_bytes / 1048576.0:N1}/{total / 1048576.0:N1} MiB, {_lines:N0} lines sent, {rate:N0} lines/s");
        if (interactive)
        {
            output.Write("\r" + text);
        }
        else
        {
            output.WriteLine(text);
        }
        output.Flush();
    }
}

/// <summary>The file as the request body, with its length announced (the server's ETA) and every chunk counted by the bar.</summary>
internal sealed class ProgressContent : HttpContent
{
    private readonly Stream _file;
    private readonly ProgressBar _bar;

    public ProgressContent(Stream file, ProgressBar bar)
    {
        (_file, _bar) = (file, bar);
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-ndjson");
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await _file.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            _bar.Sent(buffer.AsSpan(0, read));
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _file.Length;
        return true;
    }
}
