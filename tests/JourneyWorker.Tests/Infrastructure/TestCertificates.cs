using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace JourneyWorker.Tests.Infrastructure;

/// <summary>Throwaway server certificates made in the test: self-signed, for 127.0.0.1 and localhost, valid for a day.</summary>
public static class TestCertificates
{
    /// <summary>A new key and certificate each call (two calls give two certificates for the same names).</summary>
    public static X509Certificate2 SelfSigned(string commonName = "sink.test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        var now = DateTimeOffset.UtcNow;
        using var made = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        // Through PKCS#12, so that the private key is a persisted one SslStream can always serve with.
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The certificate alone (no key) in <paramref name="folder"/>, PEM or DER, as an operator would hand it over.</summary>
    public static string WritePublic(X509Certificate2 certificate, string folder, bool pem)
    {
        var path = Path.Combine(folder, $"smtp-{Guid.NewGuid():N}.{(pem ? "pem" : "der")}");
        if (pem)
        {
            File.WriteAllText(path, certificate.ExportCertificatePem());
        }
        else
        {
            File.WriteAllBytes(path, certificate.Export(X509ContentType.Cert));
        }
        return path;
    }
}
