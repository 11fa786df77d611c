using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hivemind.Volunteer.Relay;

/// <summary>The relay's own Kestrel host (cleartext HTTP/2, the Relay service only).</summary>
public sealed class RelayServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RelayServer(WebApplication app, RelayHoldings holdings, RelayService service, int port)
    {
        _app = app;
        Holdings = holdings;
        Service = service;
        Port = port;
    }

    public RelayHoldings Holdings { get; }

    public RelayService Service { get; }

    /// <summary>The port it listens on (the chosen one when started with port 0).</summary>
    public int Port { get; }

    /// <exception cref="IOException">The port is taken or cannot be bound; the message names it.</exception>
    public static async Task<RelayServer> StartAsync(RelayOptions options, VolunteerIdentity identity, TimeProvider time, CancellationToken ct = default)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(options.Bind, options.Port, o => o.Protocols = HttpProtocols.Http2));
        var holdings = new RelayHoldings(options, time);
        var service = new RelayService(holdings, identity, options, new UploadLimiter(options.UploadBytesPerSecond, time));
        builder.Services.AddSingleton(service);
        builder.Services.AddGrpc(o => o.MaxSendMessageSize = ProtocolLimits.DefaultChunkBytes + (64 << 10));
        var app = builder.Build();
        app.MapGrpcService<RelayService>();
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new IOException($"the relay cannot listen on {options.Bind}:{options.Port} ({e.Message}); choose another --relay-port.", e);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RelayServer(app, holdings, service, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
