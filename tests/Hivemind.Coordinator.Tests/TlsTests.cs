using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests;

/// <summary>The coordinator serves gRPC over TLS with a given PEM certificate and key.</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task CoordinatorAnswersOverTlsWithTheGivenCertificate()
    {
        using var dir = new TempDirectory();
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string certPath = Path.Combine(dir.Path, "coordinator.crt");
        string keyPath = Path.Combine(dir.Path, "coordinator.key");
        await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());

        using var engine = CoordinatorEngine.Open(EngineHarness.TinyOptions(Path.Combine(dir.Path, "data")), new FakeTimeProvider(DateTimeOffset.UtcNow));
        await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0, certPath, keyPath), l => l.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        string address = CoordinatorHost.Address(app);
        Assert.StartsWith("https://", address);

        string? presented = null;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // Trust exactly this self-signed certificate, and record what the server presented.
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    presented = cert?.GetCertHashString();
                    return cert is not null && cert.GetCertHashString() == certificate.GetCertHashString();
                },
            },
        };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
        var status = await new Protocol.V1.Coordinator.CoordinatorClient(channel).GetStatusAsync(new StatusRequest { ProtocolVersion = 1 });
        Assert.Equal(0UL, status.Round);
        Assert.Equal(certificate.GetCertHashString(), presented);
        await app.StopAsync();
    }
}
