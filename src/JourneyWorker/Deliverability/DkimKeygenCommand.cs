using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using JourneyWorker.Channels.Email;

namespace JourneyWorker.Deliverability;

/// <summary>
/// `JourneyWorker dkim-keygen --selector S --domain D --out FILE [--bits 2048] [--force]`: writes a new RSA key (PKCS#1
/// PEM, readable by its owner only) for Email:Dkim:PrivateKeyFile and prints the TXT record to publish at
/// S._domainkey.D, in the one-string form DNS consoles take and in zone-file form (strings of at most 255 characters).
/// </summary>
public static class DkimKeygenCommand
{
    public const string Name = "dkim-keygen";

    private const string Usage = """
        usage: JourneyWorker dkim-keygen --selector <selector> --domain <domain> --out <file> [--bits 2048] [--force]

        Writes a new RSA private key for DKIM signing to <file> (PEM; readable by its owner only) and prints the DNS TXT
        record to publish at <selector>._domainkey.<domain>. Then set Email:Dkim:Domain, Email:Dkim:Selector and
        Email:Dkim:PrivateKeyFile. An existing <file> is kept unless --force is given.

        example: JourneyWorker dkim-keygen --selector jw2026 --domain shop.example.com --out /etc/journeyworker/dkim.pem
        """;

    public static bool IsRequested(string[] args) => args.Length >= 1 && args[0] == Name;

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null)
    {
        output ??= Console.Out;
        ArgumentNullException.ThrowIfNull(args);
        var rest = args.Skip(1).ToList();
        if (rest.Any(a => a is "--help" or "-h" or "-?"))
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }
        string? Option(string name)
        {
            var i = rest.IndexOf(name);
            return i >= 0 && i + 1 < rest.Count ? rest[i + 1] : null;
        }
        var selector = Option("--selector");
        var domain = Option("--domain");
        var file = Option("--out");
        var bitsText = Option("--bits") ?? "2048";
        var errors = new List<string>();
        if (MessageIds.AsciiDomain(selector) is null)
        {
            errors.Add("--selector is required: letters, digits and hyphens (dot-separated), e.g. jw2026.");
        }
        if (MessageIds.AsciiDomain(domain) is null)
        {
            errors.Add("--domain is required: the signing domain, e.g. shop.example.com.");
        }
        if (string.IsNullOrWhiteSpace(file))
        {
            errors.Add("--out is required: the file the private key is written to.");
        }
        if (!int.TryParse(bitsText, NumberStyles.None, CultureInfo.InvariantCulture, out var bits) || bits is < 1024 or > 4096 || bits % 8 != 0)
        {
            errors.Add("--bits must be 1024 to 4096 (a multiple of 8); 2048 is the usual size.");
        }
        if (errors.Count > 0)
        {
            await output.WriteLineAsync($"{Name}: {string.Join($"\n{Name}: ", errors)}\n\n{Usage}");
            return 2;
        }

        var path = Path.GetFullPath(file!);
        if (File.Exists(path) && !rest.Contains("--force"))
        {
            await output.WriteLineAsync($"{Name}: {path} exists; keeping it (give --force to replace it, which breaks signatures until DNS has the new key).");
            return 1;
        }

        using var rsa = RSA.Create(bits);
        var pem = rsa.ExportRSAPrivateKeyPem();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        await using (var stream = new FileStream(path, options))
        await using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            await writer.WriteAsync(pem);
            await writer.WriteLineAsync();
        }

        var name = $"{MessageIds.AsciiDomain(selector)}._domainkey.{MessageIds.AsciiDomain(domain)}";
        var value = TxtValue(rsa);
        await output.WriteLineAsync($"""
            Private key ({bits} bits) written to {path}.

            Publish this DNS TXT record:
              name:  {name}
              value: {value}

            Zone-file form:
            {name}. 3600 IN TXT ( {string.Join("\n    ", Chunks(value).Select(c => $"\"{c}\""))} )

            Then configure: Email:Dkim:Domain={MessageIds.AsciiDomain(domain)}  Email:Dkim:Selector={MessageIds.AsciiDomain(selector)}  Email:Dkim:PrivateKeyFile={path}
            """);
        return 0;
    }

    /// <summary>The DKIM key record (RFC 6376 §3.6.1): the public key as a base64 SubjectPublicKeyInfo.</summary>
    public static string TxtValue(RSA rsa)
    {
        ArgumentNullException.ThrowIfNull(rsa);
        return $"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}";
    }

    /// <summary>A TXT record is a list of strings of at most 255 bytes each; resolvers join them back.</summary>
    private static IEnumerable<string> Chunks(string value)
    {
        for (var i = 0; i < value.Length; i += 250)
        {
            yield return value.Substring(i, Math.Min(250, value.Length - i));
        }
    }
}
