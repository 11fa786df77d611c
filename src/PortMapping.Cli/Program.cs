using System.CommandLine;
using System.Net;
using Hivemind.PortMapping;
using Hivemind.PortMapping.Cli;

var port = new Option<int>("--port") { Description = "Local TCP port to forward", Required = true };
var externalPort = new Option<int?>("--external-port") { Description = "Public port wanted (default: --port)" };
var lifetime = new Option<int>("--lifetime") { Description = "Lease in seconds; renewed at half-life", DefaultValueFactory = _ => (int)PortMappingRequest.DefaultLifetime.TotalSeconds };
var method = new Option<string>("--method") { Description = "upnp, natpmp or auto (UPnP, then NAT-PMP)", DefaultValueFactory = _ => "auto" };
var ssdp = new Option<string?>("--ssdp") { Description = "Send the SSDP search to this address:port instead of the multicast group" };
var gateway = new Option<string?>("--gateway") { Description = "NAT-PMP gateway address (default: the default route's gateway)" };
var serveOnce = new Option<bool>("--serve-once") { Description = "Listen on --port, answer one TCP connection through the mapping, renew once, remove the mapping and exit" };
var checkWith = new Option<string?>("--check-with") { Description = "Coordinator URL (http://host:port): listen on --port, ask it to dial the public port back once, print the verdict, remove the mapping and exit" };

var map = new Command("map", "Map a TCP port on the router, print the public address, keep it until Ctrl+C (or --serve-once), then remove it.")
{
    port, externalPort, lifetime, method, ssdp, gateway, serveOnce, checkWith,
};
map.SetAction(async (parse, ct) =>
{
    PortMappingRequest request;
    PortMapperOptions options;
    try
    {
        var p = parse.GetValue(port);
        request = new PortMappingRequest(MappingProtocol.Tcp, p, parse.GetValue(externalPort) ?? p, TimeSpan.FromSeconds(parse.GetValue(lifetime)), "hivemind-portmap");
        request.Validate();
        options = CliOptions.Parse(parse.GetValue(method)!, parse.GetValue(ssdp), parse.GetValue(gateway));
        if (parse.GetValue(checkWith) is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
            throw new ArgumentException($"--check-with '{url}' is not a coordinator URL, e.g. http://coordinator.example:5000.");
        if (parse.GetValue(checkWith) is not null && parse.GetValue(serveOnce))
            throw new ArgumentException("--check-with and --serve-once both answer connections on --port; give one.");
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    try
    {
        await using var lease = await PortMapper.MapAsync(request, options, ct: ct);
        lease.RenewalFailed += e => Console.Error.WriteLine($"warning: renewal failed, retrying: {e.Message}");
        Console.WriteLine(MappingReport.Describe(lease.Current));
        var exit = 0;
        if (parse.GetValue(checkWith) is { } coordinator)
        {
            exit = await SelfTest.RunAsync(new Uri(coordinator), lease.Current, ct) ? 0 : 3;
        }
        else if (parse.GetValue(serveOnce))
        {
            await OneConnectionServer.ServeAsync(lease.Current.InternalClient, request.InternalPort, ct);
            Console.WriteLine(await lease.RenewAsync() ? $"renewed: lifetime {lease.Current.Lifetime.TotalSeconds:0} s" : "error: renewal failed");
        }
        else
        {
            await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        await lease.DisposeAsync();
        Console.WriteLine($"removed: {request.Protocol} port {lease.Current.ExternalPort}");
        return exit;
    }
    catch (PortMappingException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
    catch (Grpc.Core.RpcException e)
    {
        Console.Error.WriteLine($"error: the coordinator did not run the reachability check: {e.Status.Detail}");
        return 1;
    }
});

var root = new RootCommand("Hivemind port mapping check: asks the home router to forward a port (UPnP-IGD or NAT-PMP).") { map };
return await root.Parse(args).InvokeAsync();
