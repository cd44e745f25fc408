using System.Text.RegularExpressions;
using JourneyWorker.Deliverability;

namespace JourneyWorker.Tests.Deliverability;

/// <summary>A key pair made by `JourneyWorker dkim-keygen`, with the TXT record it printed.</summary>
public sealed partial record DkimKey(string File, string Selector, string Domain, string RecordName, string RecordValue, string Output)
{
    public static async Task<DkimKey> CreateAsync(string folder, string selector = "jw2026", string domain = "shop.example", int bits = 2048)
    {
        var file = Path.Combine(folder, "dkim", selector + ".pem");
        var output = new StringWriter();
        var code = await DkimKeygenCommand.RunAsync(["dkim-keygen", "--selector", selector, "--domain", domain, "--out", file, "--bits", bits.ToString(System.Globalization.CultureInfo.InvariantCulture)], output);
        Assert.True(code == 0, output.ToString());
        var text = output.ToString();
        return new DkimKey(file, selector, domain, Line("name").Match(text).Groups[1].Value.Trim(), Line("value").Match(text).Groups[1].Value.Trim(), text);
    }

    private static Regex Line(string label) => new($@"^\s*{label}:\s+(.+)$", RegexOptions.Multiline);

    /// <summary>The tags of the message's DKIM-Signature (whitespace removed).</summary>
    public static Dictionary<string, string> SignatureTags(MimeKit.MimeMessage message)
    {
        var value = message.Headers[MimeKit.HeaderId.DkimSignature];
        Assert.False(string.IsNullOrEmpty(value), "the message has no DKIM-Signature");
        return Whitespace().Replace(value, "").Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => t.Split('=', 2)).ToDictionary(t => t[0], t => t[1], StringComparer.Ordinal);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
