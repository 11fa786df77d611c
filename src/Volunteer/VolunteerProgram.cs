using System.CommandLine;
using Grpc.Net.Client;
using Hivemind.Protocol.Identity;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Terminal;

namespace Hivemind.Volunteer;

/// <summary>The volunteer command line: <c>hivemind-volunteer --coordinator URL [options]</c>.</summary>
public static class VolunteerProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        var defaults = new VolunteerOptions();
        var coordinator = new Option<string>("--coordinator") { Description = "Coordinator address, e.g. http://127.0.0.1:5000", DefaultValueFactory = _ => defaults.Coordinator };
        var key = new Option<string>("--key") { Description = "Ed25519 key file (created with owner-only permissions if missing)", DefaultValueFactory = _ => defaults.KeyFile };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => defaults.Device };
        var memory = new Option<string>("--memory") { Description = "Memory lent to training, e.g. 2GiB or 512MiB; sizes the shard", DefaultValueFactory = _ => "4GiB" };
        var behavior = new Option<string>("--behavior")
        {
            Description = "RED-TEAM ONLY: honest|sign-flip|gaussian|alie|ipm|label-flip|nan|replay|free-ride. Anything but honest attacks the model on purpose.",
            DefaultValueFactory = _ => "honest",
        };
        var token = new Option<string>("--admission-token") { Description = "Token the coordinator's operator gave you (if admission is closed)", DefaultValueFactory = _ => "" };
        var cache = new Option<string>("--cache") { Description = "Parameter download cache folder", DefaultValueFactory = _ => defaults.CacheDirectory };
        var maxUnits = new Option<int>("--max-units") { Description = "Stop after this many work units (0 = until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "CPU threads for training", DefaultValueFactory = _ => defaults.Threads };
        var name = new Option<string>("--name") { Description = "Label for progress lines", DefaultValueFactory = _ => "volunteer" };
        var root = new RootCommand("Hivemind volunteer: lends this computer to train a shared MoE model.")
        {
            coordinator, key, device, memory, behavior, token, cache, maxUnits, threads, name,
        };
        root.SetAction(async (parse, ct) =>
        {
            VolunteerOptions options;
            try
            {
                string dev = parse.GetValue(device)!;
                if (dev is not ("auto" or "cpu" or "cuda"))
                    throw new ArgumentException($"--device '{dev}' is not one of auto, cpu, cuda.");
                if (dev == "cuda")
                    throw new ArgumentException("--device cuda needs a CUDA build of libtorch, which this package does not ship; use --device cpu or auto.");
                options = new VolunteerOptions
                {
                    Coordinator = parse.GetValue(coordinator)!,
                    KeyFile = parse.GetValue(key)!,
                    Device = "cpu",
                    MemoryBytes = ByteSize.Parse(parse.GetValue(memory)!, "--memory"),
                    Behavior = Behaviors.Behaviors.Parse(parse.GetValue(behavior)!),
                    AdmissionToken = parse.GetValue(token)!,
                    CacheDirectory = parse.GetValue(cache)!,
                    MaxUnits = parse.GetValue(maxUnits),
                    Threads = parse.GetValue(threads),
                };
                if (!Uri.TryCreate(options.Coordinator, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                    throw new ArgumentException($"--coordinator '{options.Coordinator}' is not an http:// or https:// address.");
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.BadArguments;
            }
            var view = LiveProgressView.Create(parse.GetValue(name)!); // live bars on a terminal, lines when redirected (issue 14)
            if (options.Behavior != Behavior.Honest)
                view.Info($"RED-TEAM behaviour '{Behaviors.Behaviors.Name(options.Behavior)}': this volunteer attacks the model on purpose");
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(options.Threads);
            using var identity = VolunteerIdentity.LoadOrCreate(options.KeyFile);
            using var channel = GrpcChannel.ForAddress(options.Coordinator, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = 8 << 20,
                MaxSendMessageSize = 8 << 20,
            });
            var client = new VolunteerClient(new Protocol.V1.Coordinator.CoordinatorClient(channel), identity, options, view);
            int code = await client.RunAsync(ct);
            view.Info($"stopped: {client.UnitsSubmitted} updates accepted, {client.UnitsRejected} rejected");
            if (view is IAsyncDisposable live) await live.DisposeAsync(); // issue 14
            return code;
        });
        return await root.Parse(args).InvokeAsync();
    }
}
