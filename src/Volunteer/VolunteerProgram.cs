using System.CommandLine;
using Grpc.Net.Client;
using Hivemind.Protocol.Identity;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.CommandLine;
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
        var dataMirror = new Option<string>("--data-mirror") { Description = "Fetch real-text data slices from this mirror (http(s):// URL or folder of SHA256.tokens files, see `hivemind-corpus mirror`) instead of the coordinator; still checked against the coordinator's SHA-256" };
        var root = new RootCommand("Hivemind volunteer: lends this computer to train a shared MoE model.")
        {
            coordinator, key, device, memory, behavior, token, cache, maxUnits, threads, name, dataMirror,
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
                DataMirror = CheckMirror(parse.GetValue(dataMirror)),
            };
            // Before libtorch loads: a bad key file is the commonest mistake and should not wait on a 600 MB library.
            using var identity = LoadKey(options.KeyFile);
            CheckCache(options.CacheDirectory);
            var view = LiveProgressView.Create(parse.GetValue(name)!); // live bars on a terminal, lines when redirected (issue 14)
            if (options.Behavior != Behavior.Honest)
                view.Info($"RED-TEAM behaviour '{Behaviors.Behaviors.Name(options.Behavior)}': this volunteer attacks the model on purpose");
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(options.Threads);
            using var channel = GrpcChannel.ForAddress(options.Coordinator, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = MaxMessageBytes,
                MaxSendMessageSize = MaxMessageBytes,
            });
            var client = new VolunteerClient(new Protocol.V1.Coordinator.CoordinatorClient(channel), identity, options, view,
                data: new Protocol.V1.DataDistribution.DataDistributionClient(channel));
            int code = await client.RunAsync(cancel);
            view.Info($"stopped: {client.UnitsSubmitted} updates accepted, {client.UnitsRejected} rejected");
            if (view is IAsyncDisposable live) await live.DisposeAsync(); // issue 14
            return code;
        });
        return root;
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
