using System.Text;

namespace JourneyWorker.Channels;

/// <summary>File naming and atomic writes for the pickup (outbox folder) senders.</summary>
internal static class PickupFiles
{
    /// <summary>A file name from a message id: anything outside [A-Za-z0-9._@-] becomes '_', so an id cannot escape the folder.</summary>
    public static string Name(string messageId, string extension)
    {
        var name = new StringBuilder(messageId.Length + extension.Length);
        foreach (var c in messageId.Length > 200 ? messageId[..200] : messageId)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '@' or '-' ? c : '_');
        }
        if (name.Length == 0 || name[0] == '.')
        {
            name.Insert(0, '_');
        }
        return name.Append(extension).ToString();
    }

    /// <summary>Writes to a temporary name then renames, so a watcher never picks up half a file; a retry overwrites.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 16 * 1024, useAsync: true);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
