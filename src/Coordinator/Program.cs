using System.CommandLine;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Demo;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Training;

// The demo and tests start volunteers as child processes of this same executable.
if (args.Length > 0 && args[0] == "volunteer")
    return await Hivemind.Volunteer.VolunteerProgram.RunAsync(args[1..]);

var config = new Option<string>("--config") { Description = "JSON file with any of the settings below (PascalCase names); flags override it" };
var host = new Option<string>("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
var port = new Option<int>("--port") { Description = "Port to listen on (0 = any free port)", DefaultValueFactory = _ => 5000 };
var tlsCert = new Option<string>("--tls-certificate") { Description = "PEM or PKCS#12 certificate for TLS (cleartext HTTP/2 without it)" };
var tlsKey = new Option<string>("--tls-key") { Description = "PEM private key for --tls-certificate" };
var dashboardPort = new Option<int?>("--dashboard-port") { Description = "Serve the dashboard, its JSON API and /metrics over HTTP/1.1 on --host:this port (0 = any free port; off without it)" }; // dashboard hook (issue 14)
var settings = OptionsBinder.CreateOptions();

var serve = new Command("serve", "Host a coordinator: gRPC on --host:--port, state under --data-directory.") { config, host, port, tlsCert, tlsKey, dashboardPort };
foreach (var (_, option) in settings) serve.Add(option);
serve.SetAction(async (parse, ct) =>
{
    CoordinatorOptions options;
    DashboardSettings? dashboard;
    try
    {
        options = OptionsBinder.Bind(parse, settings, parse.GetValue(config));
        dashboard = parse.GetValue(dashboardPort) is { } dp ? new DashboardSettings(dp, parse.GetValue(host)!).Validate() : null; // dashboard hook (issue 14)
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    TorchRuntime.EnsureLoaded();
    TorchSharp.torch.set_num_threads(options.TorchThreads);
    using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
    await using var app = CoordinatorHost.Build(engine, new ListenSettings(parse.GetValue(host)!, parse.GetValue(port), parse.GetValue(tlsCert), parse.GetValue(tlsKey)), dashboard: dashboard);
    var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("coordinator");
    engine.Log += m => log.LogInformation("{Message}", m);
    engine.RoundClosed += s => log.LogInformation(
        "round {Round} closed: {Updates} updates, train loss {Train:0.000}, eval loss {Eval:0.000} (optimum {Opt:0.000}), aggregation {Agg:0} ms",
        s.Round, s.Updates, s.MeanTrainLoss, s.EvalLoss ?? double.NaN, engine.OptimalLoss, s.AggregationTime.TotalMilliseconds);
    await app.StartAsync(ct);
    log.LogInformation("coordinator for the '{Preset}' model listening on {Address}; data in {Dir}", options.Preset, CoordinatorHost.Address(app), Path.GetFullPath(options.DataDirectory));
    if (app.DashboardAddress() is { } dashboardUrl) log.LogInformation("dashboard at {Url} (JSON API under /api, Prometheus metrics at /metrics)", dashboardUrl); // dashboard hook (issue 14)
    await app.WaitForShutdownAsync(ct);
    return 0;
});

var demo = new Command("demo", "Start a coordinator on its embedded store plus local volunteer processes, train, and summarise.");
var volunteers = new Option<int>("--volunteers") { Description = "Volunteer processes to start", DefaultValueFactory = _ => DemoSettings.Default.Volunteers };
var rounds = new Option<int>("--rounds") { Description = "Rounds to train", DefaultValueFactory = _ => DemoSettings.Default.Rounds };
var preset = new Option<string>("--preset") { Description = "Model preset: tiny, small or base", DefaultValueFactory = _ => DemoSettings.Default.Preset };
var dataDir = new Option<string>("--data-directory") { Description = "Demo state (wiped at start)", DefaultValueFactory = _ => DemoSettings.Default.DataDirectory };
var byzantine = new Option<string>("--byzantine") { Description = "RED-TEAM: behaviour of one extra volunteer (e.g. sign-flip)", DefaultValueFactory = _ => "" };
var rule = new Option<string>("--rule") { Description = "Aggregation spec for trunk and experts", DefaultValueFactory = _ => DemoSettings.Default.Rule };
var corpusOrder = new Option<int>("--corpus-order") { Description = "Markov order of the synthetic domains (1 learns in minutes; 2 needs many more rounds)", DefaultValueFactory = _ => DemoSettings.Default.CorpusOrder };
var demoDashboardPort = new Option<int>("--dashboard-port") { Description = "Port of the live dashboard (0 = any free port; the URL is printed)", DefaultValueFactory = _ => 0 }; // dashboard hook (issue 14)
demo.Add(demoDashboardPort);
demo.Add(corpusOrder);
demo.Add(volunteers);
demo.Add(rounds);
demo.Add(preset);
demo.Add(dataDir);
demo.Add(byzantine);
demo.Add(rule);
demo.SetAction(async (parse, ct) => await DemoRunner.RunAsync(new DemoSettings(
    parse.GetValue(volunteers), parse.GetValue(rounds), parse.GetValue(preset)!, parse.GetValue(dataDir)!, parse.GetValue(byzantine)!, parse.GetValue(rule)!, parse.GetValue(corpusOrder)) { DashboardPort = parse.GetValue(demoDashboardPort) }, ct)); // dashboard hook (issue 14)

var root = new RootCommand("Hivemind coordinator: trains one MoE model on volunteers' computers.") { serve, demo };
return await root.Parse(args).InvokeAsync();
