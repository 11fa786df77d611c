using System.Net;

namespace Hivemind.Coordinator.Reachability;

/// <summary>Opens and closes one TCP connection; a seam so tests can stand in for a host that never answers.</summary>
public interface ITcpDialer
{
    /// <summary>Completes when the handshake succeeds; throws <see cref="System.Net.Sockets.SocketException"/> when refused or unroutable.</summary>
    Task DialAsync(IPEndPoint target, CancellationToken ct);
}
