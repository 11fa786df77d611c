using System.CommandLine;
using System.Net.Sockets;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Reachability;
using Hivemind.Coordinator.Rounds;
using Hivemind.Training;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Hosting;

/// <summary><c>serve</c>: checks every setting, warns about unsafe ones, opens the store, listens until stopped.</summary>
public static class ServeCommand
{
    /// <summary>Default gRPC port.</summary>
    public const int DefaultPort = 5000;

    /// <summary>
    /// Builds the command. <paramref name="logging"/> lets a test add a log provider; the action writes warnings and
    /// refusals to <paramref name="console"/>.
    /// </summary>
    public static Command Create(CliConsole console, Action<ILoggingBuilder>? logging = null)
    {
        var config = new Option<string>("--config") { Description = "JSON file with any of the settings below (PascalCase names, e.g. \"Quorum\": 4); flags override it" };
        var host = Flags.Text("--host", "Address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 or :: (every interface), or one interface's IP", "127.0.0.1");
        var port = Flags.Int("--port", "Port to listen on (0 = any free port)", DefaultPort, min: 0, max: ServeSettings.MaxPort);
        var tlsCert = new Option<string>("--tls-certificate") { Description = "PEM or PKCS#12 certificate for TLS (cleartext HTTP/2 without it, warned about off loopback)" };
        var tlsKey = new Option<string>("--tls-key") { Description = "PEM private key of --tls-certificate" };
        var dashboardPort = new Option<int?>("--dashboard-port") { Description = "Serve the dashboard, its JSON API and /metrics over HTTP/1.1 on --host:this port (0 = any free port; off without it)" };
        var upnp = new Option<bool>("--upnp") { Description = "Map the port on the home router (UPnP-IGD, then NAT-PMP), print the public address, remove the mapping on exit" };
        var settings = OptionsBinder.CreateOptions();

        var serve = new Command("serve", "Host a coordinator: gRPC on --host:--port, state under --data-directory.") { config, host, port, tlsCert, tlsKey, upnp, dashboardPort };
        foreach (var (_, option) in settings) serve.Add(option);
        serve.SetAction(async (parse, ct) =>
        {
            CoordinatorOptions options;
            DashboardSettings? dashboard;
            try
            {
                options = OptionsBinder.Bind(parse, settings, parse.GetValue(config));
                dashboard = parse.GetValue(dashboardPort) is { } dp ? new DashboardSettings(dp, parse.GetValue(host)!).Validate() : null;
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message, e);
            }
            var checkedSettings = ServeSettings.Check(options, new ListenSettings(parse.GetValue(host)!, parse.GetValue(port), parse.GetValue(tlsCert), parse.GetValue(tlsKey)));
            bool mapPort = parse.GetValue(upnp);
            if (mapPort)
            {
                try
                {
                    CoordinatorPortMapping.EnsureMappable(checkedSettings.Listen.Host);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException(e.Message, e);
                }
            }
            return await RunAsync(checkedSettings, mapPort, dashboard, console, logging, ct);
        });
        return serve;
    }

    private static async Task<int> RunAsync(ServeSettings settings, bool mapPort, DashboardSettings? dashboard, CliConsole console, Action<ILoggingBuilder>? logging, CancellationToken ct)
    {
        var (options, listen) = settings;
        var warnings = StartupWarnings.For(options, listen);
        foreach (var warning in warnings) console.Error.WriteLine($"WARNING: {warning}");

        EnsurePortFree(listen);
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(options.TorchThreads);
        string folder = Path.GetFullPath(options.DataDirectory);
        bool resuming = Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any();
        using var engine = Open(options);
        using var gcPauses = new Metrics.GcPauseMonitor();
        await using var poolProbe = new Metrics.ThreadPoolProbe();
        await using var app = CoordinatorHost.Build(engine, listen, logging, dashboard);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("coordinator");
        foreach (var warning in warnings) log.LogWarning("{Warning}", warning);
        engine.Log += m => log.LogInformation("{Message}", m);
        log.LogInformation("ledger: {Entries} entries, coordinator key {Key} (volunteers may pin it with --coordinator-key)", engine.Ledger.Size, Convert.ToHexString(engine.Ledger.PublicKey).ToLowerInvariant());
        engine.RoundClosed += s => log.LogInformation(
            "round {Round} closed: {Updates} updates, train loss {Train:0.000}, eval loss {Eval:0.000} (optimum {Opt:0.000}), aggregation {Agg:0} ms",
            s.Round, s.Updates, s.MeanTrainLoss, s.EvalLoss ?? double.NaN, engine.OptimalLoss, s.AggregationTime.TotalMilliseconds);
        // The engine restores before anyone can subscribe to its log, so the host says what it found.
        var status = engine.Status();
        if (resuming)
            log.LogInformation("restored round {Round} from {Dir}: {Accepted} accepted updates, {Leased} leased work units",
                status.Round, folder, status.AcceptedThisRound, status.LeasedUnits);
        else
            log.LogInformation("new run in {Dir}", folder);
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException e)
        {
            // Lost a race for the port since EnsurePortFree.
            throw PortTaken(listen, e);
        }
        log.LogInformation("coordinator for the '{Preset}' model listening on {Address}; data in {Dir}; Ctrl+C stops it", options.Preset, CoordinatorHost.Address(app), folder);
        if (app.DashboardAddress() is { } dashboardUrl) log.LogInformation("dashboard at {Url} (JSON API under /api, Prometheus metrics at /metrics)", dashboardUrl);
        await using var mapping = mapPort ? await CoordinatorPortMapping.TryMapAsync(new Uri(CoordinatorHost.Address(app)).Port, log, ct) : null;
        await app.WaitForShutdownAsync(ct);
        // Where the server's share of RequestWork time went (the load test reads these lines from the log), and the GC's pauses.
        log.LogInformation("{Timings}", engine.WorkTimings.Summary());
        log.LogInformation("{Pauses}", gcPauses.Summary());
        log.LogInformation("{Pool}", poolProbe.Summary());
        log.LogInformation("gc: {Mode} GC, latency mode {Latency}; collections gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2}; total pause {Pause:0} ms; allocated {Allocated:0} MiB",
            System.Runtime.GCSettings.IsServerGC ? "server" : "workstation", System.Runtime.GCSettings.LatencyMode,
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration().TotalMilliseconds, GC.GetTotalAllocatedBytes() / 1048576.0);
        return 0;
    }

    /// <summary>
    /// Refuses a taken port before the store is opened (so a second coordinator started by mistake changes nothing) and
    /// before Kestrel, whose own failure is logged with a stack trace.
    /// </summary>
    private static void EnsurePortFree(ListenSettings listen)
    {
        if (listen.Port == 0) return;
        var probe = new TcpListener(ServeSettings.BindAddress(listen.Host), listen.Port);
        try
        {
            probe.Start();
        }
        catch (SocketException e)
        {
            throw PortTaken(listen, e);
        }
        finally
        {
            probe.Stop();
        }
    }

    private static UsageException PortTaken(ListenSettings listen, Exception e) =>
        new($"cannot listen on {listen.Host}:{listen.Port} ({e.Message.TrimEnd('.')}); pick another --port (0 = any free port) or stop the process that holds it.", e);

    private static CoordinatorEngine Open(CoordinatorOptions options)
    {
        try
        {
            return CoordinatorEngine.Open(options, TimeProvider.System);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UsageException($"--data-directory '{options.DataDirectory}' cannot be used ({e.Message.TrimEnd('.')}); give a folder you can write to.", e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException && options.Data.Length > 0)
        {
            throw new UsageException($"--data '{options.Data}' cannot be served: {e.Message.TrimEnd('.')}.", e);
        }
    }
}
