using System.CommandLine;
using Grpc.Net.Client;
using Hivemind.Protocol.Identity;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.CommandLine;
using Hivemind.Volunteer.Relay;
using Hivemind.Volunteer.Terminal;

namespace Hivemind.Volunteer;

/// <summary>The volunteer command line: <c>hivemind-volunteer --coordinator URL [options]</c>.</summary>
public static class VolunteerProgram
{
    /// <summary>Largest gRPC message the volunteer sends or accepts (chunks are 1 MiB; the rest is headroom).</summary>
    private const int MaxMessageBytes = 8 << 20;

    /// <summary>More libtorch threads than this is a typo, not a machine.</summary>
    private const int MaxThreads = 1024;

    private static readonly string[] Devices = ["auto", "cpu", "cuda"];

    public static Task<int> RunAsync(string[] args) => RunAsync(args, CliConsole.Standard, CancellationToken.None);

    /// <summary>Runs the command line; every bad value is one <c>error:</c> line on <see cref="CliConsole.Error"/> and exit code 2.</summary>
    public static Task<int> RunAsync(string[] args, CliConsole console, CancellationToken ct) =>
        CommandLineRunner.RunAsync(CreateCommand(), args, console, ct);

    /// <summary>The volunteer's flags and action.</summary>
    public static RootCommand CreateCommand()
    {
        var defaults = new VolunteerOptions();
        var coordinator = Flags.Text("--coordinator", "Coordinator address, http:// or https://, e.g. http://127.0.0.1:5000", defaults.Coordinator);
        var key = Flags.Text("--key", "Ed25519 key file: your identity. Created with owner-only permissions if missing; refused if others can read it", defaults.KeyFile);
        var device = Flags.Choice("--device", "Training device (cuda needs a CUDA build of libtorch, not shipped here)", defaults.Device, Devices);
        var memory = Flags.Text("--memory", "Memory lent to training, e.g. 2GiB or 512MiB; the coordinator sizes your shard from it", "4GiB");
        var behavior = Flags.Choice("--behavior", "RED-TEAM ONLY: anything but honest attacks the model on purpose", "honest", [.. Behaviors.Behaviors.ByName.Keys]);
        var token = Flags.Text("--admission-token", "Token the coordinator's operator gave you (needed when its admission is closed)", "");
        var cache = Flags.Text("--cache", "Folder for downloaded parameters, cached by content hash", defaults.CacheDirectory);
        var maxUnits = Flags.Int("--max-units", "Stop after this many work units (0 = until Ctrl+C)", 0, min: 0);
        var threads = Flags.Int("--threads", "CPU threads libtorch may use for training", defaults.Threads, min: 1, max: MaxThreads);
        var name = Flags.Text("--name", "Label printed at the start of each progress line", "volunteer");
        var coordinatorKey = new Option<string>("--coordinator-key") { Description = "The coordinator's ledger key (64 hex digits, logged at its start) to check every acknowledgement's ledger receipt against; learned at the first join without it" };
        // Relay (issue 17): serve the parameters this volunteer downloads to other volunteers.
        var relay = new Option<bool>("--relay") { Description = "Also serve the model versions you download to other volunteers (needs an inbound TCP port; see --relay-port)" };
        var relayPort = Flags.Int("--relay-port", "TCP port the relay listens on", DefaultRelayPort, min: 1, max: 65535);
        var relayBind = Flags.Text("--relay-bind", "Address the relay listens on (0.0.0.0 or :: to be reachable from outside)", "0.0.0.0");
        var relayPublicPort = Flags.Int("--relay-public-port", "The port others reach the relay on, when your router forwards another external port (0 = --relay-port)", 0, min: 0, max: 65535);
        var relayUpload = Flags.Text("--relay-upload", "Upload cap of the relay, per second, e.g. 2MiB (0 = no cap)", "0");
        var relayUpnp = new Option<bool>("--upnp") { Description = "With --relay: ask the home router to forward the relay's port (UPnP-IGD, then NAT-PMP); removed on exit" };
        var dataMirror = new Option<string>("--data-mirror") { Description = "Fetch real-text data slices from this mirror (http(s):// URL or folder of SHA256.tokens files, see `hivemind-corpus mirror`) instead of the coordinator; still checked against the coordinator's SHA-256" };
        var eager = new Option<bool>("--eager") { Description = "Start the next round's unit as soon as your update is accepted, from your own result, instead of waiting for the round to close (the coordinator must allow it with --eager-slots)" };
        var root = new RootCommand("Hivemind volunteer: lends this computer to train a shared MoE model.")
        {
            eager, coordinator, key, device, memory, behavior, token, cache, maxUnits, threads, name, relay, relayPort, relayBind, relayPublicPort, relayUpload, relayUpnp, coordinatorKey, dataMirror,
        };
        root.SetAction(async (parse, cancel) =>
        {
            var options = new VolunteerOptions
            {
                Coordinator = CheckAddress(parse.GetValue(coordinator)!),
                KeyFile = parse.GetValue(key)!,
                Device = CheckDevice(parse.GetValue(device)!),
                MemoryBytes = Size(parse.GetValue(memory)!),
                Behavior = Behaviors.Behaviors.Parse(parse.GetValue(behavior)!),
                AdmissionToken = parse.GetValue(token)!,
                CacheDirectory = parse.GetValue(cache)!,
                MaxUnits = parse.GetValue(maxUnits),
                Threads = parse.GetValue(threads),
                CoordinatorKey = parse.GetValue(coordinatorKey) is { } pinned
                    ? Protocol.Ledger.TreeHead.ParseKey(pinned) ?? throw new UsageException($"--coordinator-key '{pinned}' is not an Ed25519 public key; give the 64 hex digits the coordinator logs at start ('ledger: ... coordinator key ...').")
                    : null,
                DataMirror = CheckMirror(parse.GetValue(dataMirror)),
                Eager = parse.GetValue(eager),
            };
            if (parse.GetValue(relayUpnp) && !parse.GetValue(relay))
                throw new UsageException("--upnp maps the relay's port, so it needs --relay; a plain volunteer only dials out and needs no mapping.");
            var relayOptions = parse.GetValue(relay)
                ? RelayOptionsFrom(parse.GetValue(relayPort), parse.GetValue(relayBind)!, parse.GetValue(relayPublicPort), parse.GetValue(relayUpload)!)
                : null;
            // Before libtorch loads: a bad key file is the commonest mistake and should not wait on a 600 MB library.
            using var identity = LoadKey(options.KeyFile);
            CheckCache(options.CacheDirectory);
            var view = LiveProgressView.Create(parse.GetValue(name)!); // live bars on a terminal, lines when redirected (issue 14)
            if (options.Behavior != Behavior.Honest)
                view.Info($"RED-TEAM behaviour '{Behaviors.Behaviors.Name(options.Behavior)}': this volunteer attacks the model on purpose");
            view.Info(MallocStatus());
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(options.Threads);
            using var channel = GrpcChannel.ForAddress(options.Coordinator, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = MaxMessageBytes,
                MaxSendMessageSize = MaxMessageBytes,
            });
            using var fetcher = new RelayFetcher(new Uri(options.Coordinator));
            await using var relayServer = relayOptions is null ? null : await StartRelayAsync(relayOptions, identity, cancel);
            await using var mapping = relayServer is not null && parse.GetValue(relayUpnp) ? await MapRelayPortAsync(relayServer.Port, view, cancel) : null;
            if (mapping is not null) relayOptions = relayOptions! with { PublicPort = mapping.Current.ExternalPort };
            var node = relayServer is null ? null : new RelayNode(relayServer, relayOptions!, new Protocol.V1.Reachability.ReachabilityClient(channel),
                new Protocol.V1.RelayRegistry.RelayRegistryClient(channel));
            if (relayServer is not null) view.Info($"relay listening on {relayOptions!.Bind}:{relayServer.Port}");
            var client = new VolunteerClient(new Protocol.V1.Coordinator.CoordinatorClient(channel), identity, options, view, ledger: new Protocol.V1.Ledger.LedgerClient(channel), relay: node, relayFetcher: fetcher,
                data: new Protocol.V1.DataDistribution.DataDistributionClient(channel), relayRegistry: new Protocol.V1.RelayRegistry.RelayRegistryClient(channel));
            int code = await client.RunAsync(cancel);
            view.Info($"stopped: {client.UnitsSubmitted} updates accepted, {client.UnitsRejected} rejected");
            if (view is IAsyncDisposable live) await live.DisposeAsync(); // issue 14
            return code;
        });
        return root;
    }

    /// <summary>The relay's default port (the coordinator's default is 5000).</summary>
    private const int DefaultRelayPort = 7000;

    private static RelayOptions RelayOptionsFrom(int port, string bind, int publicPort, string upload)
    {
        if (!System.Net.IPAddress.TryParse(bind, out var address))
            throw new UsageException($"--relay-bind '{bind}' is not an IP address; use 0.0.0.0 (all IPv4 interfaces), :: (all IPv6) or one of this computer's addresses.");
        long cap;
        try
        {
            cap = upload.Trim() == "0" ? 0 : ByteSize.Parse(upload, "--relay-upload");
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
        var options = new RelayOptions(port, address, publicPort, cap);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
        return options;
    }

    /// <summary>Maps the relay's port; a failure is reported with the manual fix and the volunteer goes on (the dial-back then says whether it is reachable).</summary>
    private static async Task<PortMapping.PortMappingLease?> MapRelayPortAsync(int port, IVolunteerView view, CancellationToken ct)
    {
        try
        {
            var lease = await PortMapping.PortMapper.MapAsync(PortMapping.PortMappingRequest.Tcp(port, "Hivemind relay"), PortMapping.PortMapperOptions.Default, ct: ct);
            view.Info($"relay port mapped: {lease.Current.ExternalEndPoint} via {lease.Current.Method}; removed on exit");
            return lease;
        }
        catch (PortMapping.PortMappingException e)
        {
            view.Info($"--upnp: {e.Message} Forward TCP port {port} to this computer in your router, or run without --relay.");
            return null;
        }
    }

    private static async Task<RelayServer> StartRelayAsync(RelayOptions options, VolunteerIdentity identity, CancellationToken ct)
    {
        try
        {
            return await RelayServer.StartAsync(options, identity, TimeProvider.System, ct);
        }
        catch (IOException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>The allocator line, logged once per volunteer (Program.cs restarts the process with the tuning before this runs).</summary>
    private static string MallocStatus()
    {
        try
        {
            return Hivemind.Training.Allocator.MallocRelaunch.Status();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    private static string CheckAddress(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new UsageException($"--coordinator '{address}' is not an http:// or https:// address; write it like http://127.0.0.1:5000.");
        return address;
    }

    private static string? CheckMirror(string? mirror)
    {
        if (string.IsNullOrEmpty(mirror)) return null;
        if (Uri.TryCreate(mirror, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return mirror;
        string folder = mirror.StartsWith("file://", StringComparison.Ordinal) ? new Uri(mirror).LocalPath : mirror;
        if (!Directory.Exists(folder))
            throw new UsageException($"--data-mirror '{mirror}' is neither an http:// or https:// URL nor an existing folder; give the mirror's URL or a folder of SHA256.tokens files (`hivemind-corpus mirror`).");
        return mirror;
    }

    private static string CheckDevice(string device)
    {
        if (device == "cuda")
            throw new UsageException("--device cuda needs a CUDA build of libtorch, which this package does not ship; use --device cpu or auto.");
        return "cpu";
    }

    private static long Size(string text)
    {
        try
        {
            return ByteSize.Parse(text, "--memory");
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    private static void CheckCache(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"--cache '{folder}' cannot be used as a folder ({e.Message}); give a folder you can write to.", e);
        }
    }

    /// <summary>The key file's own messages name the file and the fix (chmod 600, restore or delete); here they become one line.</summary>
    private static VolunteerIdentity LoadKey(string path)
    {
        if (Directory.Exists(path))
            throw new UsageException($"--key '{path}' is a folder; give the path of a key file (it is created if missing), e.g. {Path.Combine(path, "volunteer.key")}.");
        try
        {
            return VolunteerIdentity.LoadOrCreate(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            throw new UsageException($"--key: {e.Message}", e);
        }
    }
}
