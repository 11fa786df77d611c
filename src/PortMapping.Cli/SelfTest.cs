using System.Net.Sockets;
using Grpc.Net.Client;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;

namespace Hivemind.PortMapping.Cli;

/// <summary>Listens behind the mapping and asks a coordinator to dial the public port back once (the Reachability RPC).</summary>
internal static class SelfTest
{
    /// <summary>The coordinator's own dial waits 3 s by default; this bounds the whole call.</summary>
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Prints the coordinator's verdict and advice; true when reachable.</summary>
    public static async Task<bool> RunAsync(Uri coordinator, MappedPort mapping, CancellationToken ct)
    {
        using var listener = new TcpListener(mapping.InternalClient, mapping.InternalPort);
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var accepting = AcceptAndCloseAsync(listener, stop.Token);
        try
        {
            using var channel = GrpcChannel.ForAddress(coordinator);
            var reply = await new Reachability.ReachabilityClient(channel).CheckReachableAsync(
                new ReachabilityRequest { ProtocolVersion = ProtocolVersion.Current, Port = (uint)mapping.ExternalPort },
                deadline: DateTime.UtcNow.Add(CallDeadline), cancellationToken: ct);
            Console.WriteLine(reply.Advice); // starts with "reachable" or "not reachable", then what to do
            return reply.Reachable;
        }
        finally
        {
            stop.Cancel();
            listener.Stop();
            await accepting;
        }
    }

    private static async Task AcceptAndCloseAsync(TcpListener listener, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync(ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }
}
