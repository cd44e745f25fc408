using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>
/// The independent checkers of what JourneyWorker sends, run as separate processes: dkimpy (Debian's python3-dkim) verifies
/// DKIM signatures with the public key handed in instead of DNS; SpamAssassin scores a message with its local rules only.
/// A test that needs one skips, naming the package, when it is not installed (.ci/run installs both).
/// </summary>
public static partial class MailTools
{
    private static readonly Lazy<string?> Python = new(() => new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => Run(p, ["-c", "import dkim"]).Code == 0));

    private static readonly Lazy<string?> SpamAssassin = new(() => new[] { "/usr/bin/spamassassin", "spamassassin" }.FirstOrDefault(p => Run(p, ["--version"]).Code == 0));

    private const string VerifyScript = """
        import logging, sys, dkim
        logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
        message = open(sys.argv[1], 'rb').read()
        name, record = sys.argv[2].encode(), open(sys.argv[3], 'rb').read().strip()
        def dns(query, timeout=5):
            # Only the record the test publishes exists; any other lookup is a failure of the signature under test.
            return record if query.rstrip(b'.').lower() == name.lower() else None
        d = dkim.DKIM(message, logger=logging.getLogger('dkim'))
        ok = d.verify(dnsfunc=dns)
        print('PASS' if ok else 'FAIL')
        sys.exit(0 if ok else 1)
        """;

    public static void RequireDkimVerifier()
    {
        if (Python.Value is null)
        {
            Assert.Skip("python3-dkim is not installed (Debian: apt-get install -y python3-dkim; .ci/run installs it): no independent DKIM verifier.");
        }
    }

    /// <summary>Verifies the first DKIM-Signature of <paramref name="raw"/> against the TXT record <paramref name="record"/> published at <paramref name="name"/>.</summary>
    public static (bool Valid, string Log) VerifyDkim(byte[] raw, string name, string record)
    {
        RequireDkimVerifier();
        var folder = Directory.CreateTempSubdirectory("journeyworker-dkim-").FullName;
        try
        {
            var message = Path.Combine(folder, "message.eml");
            var txt = Path.Combine(folder, "record.txt");
            var script = Path.Combine(folder, "verify.py");
            File.WriteAllBytes(message, raw);
            File.WriteAllText(txt, record);
            File.WriteAllText(script, VerifyScript);
            var (code, output) = Run(Python.Value!, [script, message, name, txt]);
            return (code == 0, output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>SpamAssassin's score of the message with local tests only (-L: no DNS or network rules), Bayes off.</summary>
    public static (double Score, string Report) SpamScore(byte[] raw)
    {
        if (SpamAssassin.Value is null)
        {
            Assert.Skip("spamassassin is not installed (Debian: apt-get install -y spamassassin; .ci/run installs it).");
        }
        var home = Directory.CreateTempSubdirectory("journeyworker-sa-").FullName;
        try
        {
            var message = Path.Combine(home, "message.eml");
            File.WriteAllBytes(message, raw);
            // -t appends the report; its own HOME keeps it from touching the user's ~/.spamassassin.
            var (_, output) = Run(SpamAssassin.Value!, ["-L", "-t", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0", message],
                new Dictionary<string, string> { ["HOME"] = home });
            var status = SpamStatus().Match(output);
            Assert.True(status.Success, "no X-Spam-Status in SpamAssassin's output:\n" + output);
            return (double.Parse(status.Groups[1].Value, CultureInfo.InvariantCulture), output);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static (int Code, string Output) Run(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"{file} did not finish within 60 s");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    [GeneratedRegex(@"X-Spam-Status: \w+, score=(-?[0-9.]+)")]
    private static partial Regex SpamStatus();
}
