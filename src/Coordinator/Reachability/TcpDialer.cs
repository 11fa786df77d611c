using System.Net;
using System.Net.Sockets;

namespace Hivemind.Coordinator.Reachability;

/// <summary>A plain TCP connect, closed at once: a port forward is proven by the handshake alone.</summary>
public sealed class TcpDialer : ITcpDialer
{
    public async Task DialAsync(IPEndPoint target, CancellationToken ct)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(target, ct);
    }
}
