using System.Diagnostics.Metrics;
using System.Net;
using Hivemind.Coordinator.Metrics;
using Hivemind.Coordinator.Services;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// Serves the dashboard, the JSON API and <c>/metrics</c> on their own HTTP/1.1 listener, started and stopped with
/// the coordinator's host. A separate small web app rather than routes on the gRPC port: that port speaks cleartext
/// HTTP/2 only, which browsers and Prometheus do not, and the page stays off the volunteers' port.
/// </summary>
public sealed class DashboardServer(DashboardSettings settings, SnapshotPublisher snapshots, CoordinatorMetrics metrics, TransferBook transfers) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The dashboard's base address (e.g. <c>http://127.0.0.1:8080</c>), known once started.</summary>
    public string Address { get; private set; } = "";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        // Page loads and API calls are not worth a log line each; failures still reach the coordinator's own log.
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            var address = settings.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(settings.Host);
            k.Listen(address, settings.Port, o => o.Protocols = HttpProtocols.Http1);
        });
        _app = builder.Build();
        metrics.ExcludeMetersOf(_app.Services.GetRequiredService<IMeterFactory>());
        DashboardEndpoints.Map(_app, snapshots, metrics, transfers);
        await _app.StartAsync(cancellationToken);
        string bound = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
