using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hivemind.PortMapping.Cli;

/// <summary>Answers exactly one TCP connection with a greeting, to show the mapping carries traffic from outside.</summary>
internal static class OneConnectionServer
{
    public static async Task ServeAsync(IPAddress address, int port, CancellationToken ct)
    {
        using var listener = new TcpListener(address, port);
        listener.Start();
        Console.WriteLine($"listening: {address}:{port}");
        using var client = await listener.AcceptTcpClientAsync(ct);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"hello from {address}:{port}\n"), ct);
        Console.WriteLine($"served: a connection from {client.Client.RemoteEndPoint}");
    }
}
