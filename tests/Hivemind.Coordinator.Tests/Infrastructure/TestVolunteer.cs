using Grpc.Net.Client;
using Hivemind.Protocol.Identity;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>An in-process volunteer client with a fresh key and its own cache, pointed at a coordinator address.</summary>
public static class TestVolunteer
{
    /// <summary>Creates the client (<paramref name="chunkedRelays"/>: relay downloads chunked against the coordinator's manifest, as the volunteer program does); the key and channel are added to <paramref name="owned"/> for the caller to dispose.</summary>
    public static (VolunteerClient Client, LoopbackCoordinator.RecordingView View) Create(
        string address, string cacheDirectory, ICollection<IDisposable> owned, Behavior behavior = Behavior.Honest, int maxUnits = 0,
        Hivemind.Volunteer.Relay.RelayFetcher? relayFetcher = null, Hivemind.Volunteer.Relay.RelayNode? relay = null, VolunteerIdentity? identity = null,
        bool chunkedRelays = false, Grpc.Core.Interceptors.Interceptor? interceptor = null, bool eager = false)
    {
        identity ??= VolunteerIdentity.Create();
        var channel = GrpcChannel.ForAddress(address);
        var invoker = interceptor is null ? channel.CreateCallInvoker() : Grpc.Core.Interceptors.CallInvokerExtensions.Intercept(channel.CreateCallInvoker(), interceptor);
        owned.Add(identity);
        owned.Add(channel);
        var view = new LoopbackCoordinator.RecordingView();
        var options = new VolunteerOptions
        {
            Coordinator = address,
            MemoryBytes = EngineHarness.VolunteerMemory,
            Device = "cpu",
            Behavior = behavior,
            MaxUnits = maxUnits,
            CacheDirectory = cacheDirectory,
            Eager = eager,
        };
        return (new VolunteerClient(new Protocol.V1.Coordinator.CoordinatorClient(invoker), identity, options, view, ledger: new Protocol.V1.Ledger.LedgerClient(channel), relay: relay, relayFetcher: relayFetcher,
            data: new Protocol.V1.DataDistribution.DataDistributionClient(channel),
            relayRegistry: chunkedRelays ? new Protocol.V1.RelayRegistry.RelayRegistryClient(channel) : null), view);
    }
}
