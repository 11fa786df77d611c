using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Relays;
using Hivemind.Coordinator.Services;
using Hivemind.Protocol;
using Hivemind.Training;
using Hivemind.Volunteer.CommandLine;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Hivemind.Coordinator.Hosting;

/// <summary>Where and how the coordinator listens.</summary>
public sealed record ListenSettings(string Host = "127.0.0.1", int Port = 5000, string? TlsCertificate = null, string? TlsKey = null);

/// <summary>Builds the coordinator's web host: Kestrel (HTTP/2, optional TLS), the gRPC service, reflection, the round loop.</summary>
public static class CoordinatorHost
{
    public static WebApplication Build(CoordinatorEngine engine, ListenSettings listen, Action<ILoggingBuilder>? logging = null,
        DashboardSettings? dashboard = null, // dashboard hook (issue 14)
        ReachabilityOptions? reachability = null) // relays on one address (tests, the relay benchmark) need a shorter per-caller interval (issue 17)
    {
        var builder = WebApplication.CreateSlimBuilder();
        LoggingDefaults.Apply(builder.Configuration);
        if (logging is not null) logging(builder.Logging);
        var limits = ProtocolLimits.Default;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(ServeSettings.BindAddress(listen.Host), listen.Port, o =>
            {
                if (listen.TlsCertificate is null)
                {
                    o.Protocols = HttpProtocols.Http2; // cleartext gRPC needs prior-knowledge HTTP/2
                }
                else
                {
                    o.Protocols = HttpProtocols.Http1AndHttp2;
                    o.UseHttps(LoadCertificate(listen.TlsCertificate, listen.TlsKey));
                }
            });
            k.Limits.MaxRequestBodySize = null; // updates are streamed and bounded by ProtocolLimits instead
        });
        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton<ParameterCache>();
        // One service instance for the process (gRPC would otherwise build one per call): its traffic counter and
        // incoming folder are set up once.
        builder.Services.AddSingleton<CoordinatorService>();
        builder.Services.AddSingleton(new TransferBook(engine.Time)); // uploads and downloads in flight, for the dashboard (issue 14)
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = limits.MaxChunkBytes + (64 << 10);
            o.MaxSendMessageSize = ProtocolLimits.DefaultChunkBytes + (64 << 10);
            o.EnableDetailedErrors = false;
            o.Interceptors.Add<RejectionInterceptor>();
        });
        builder.Services.AddReachability(reachability);
        builder.Services.AddRelays();
        builder.Services.AddGrpcReflection();
        builder.Services.AddHostedService<RoundLoop>();
        if (dashboard is not null) builder.AddDashboard(engine, dashboard); // dashboard hook (issue 14)
        var app = builder.Build();
        app.MapGrpcService<CoordinatorService>();
        app.MapGrpcService<LedgerService>(); // public decision ledger (issue 12)
        app.MapGrpcService<DataDistributionService>(); // real-text slices (issue 13)
        app.MapReachability();
        app.MapRelays();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>The address the host actually listens on (useful with port 0).</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private static X509Certificate2 LoadCertificate(string certificate, string? key)
    {
        if (!File.Exists(certificate)) throw new UsageException($"--tls-certificate '{certificate}' does not exist; give a PEM or PKCS#12 certificate file.");
        if (key is not null && !File.Exists(key)) throw new UsageException($"--tls-key '{key}' does not exist; give the PEM private key of --tls-certificate.");
        try
        {
            return key is null ? X509CertificateLoader.LoadPkcs12FromFile(certificate, null) : X509Certificate2.CreateFromPemFile(certificate, key);
        }
        catch (CryptographicException e)
        {
            throw new UsageException($"--tls-certificate '{certificate}'{(key is null ? "" : $" with --tls-key '{key}'")} cannot be loaded ({e.Message.TrimEnd('.')}); " +
                                     "give a PEM certificate and its PEM key, or a PKCS#12 file without a password.", e);
        }
    }
}
