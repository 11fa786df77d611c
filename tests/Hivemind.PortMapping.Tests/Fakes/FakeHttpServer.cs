using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hivemind.PortMapping.Tests.Fakes;

/// <summary>A minimal HTTP/1.1 server on 127.0.0.1 whose answers a test scripts, including ones no real server would send.</summary>
public sealed class FakeHttpServer : IAsyncDisposable
{
    private const int MaxHeaderBytes = 16 * 1024;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<FakeHttpRequest, FakeHttpResponse?> _handler;
    private readonly Task _accepting;

    /// <param name="handler">Returns the response, or null to never answer (a hung gateway).</param>
    public FakeHttpServer(Func<FakeHttpRequest, FakeHttpResponse?> handler)
    {
        _handler = handler;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    private async Task AcceptAsync()
    {
        var clients = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                clients.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        await Task.WhenAll(clients);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var request = await ReadRequestAsync(stream, _stop.Token);
            var response = _handler(request);
            if (response is null)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token); // hung gateway: holds the connection until the test ends
                return;
            }
            var body = Encoding.UTF8.GetBytes(response.Body);
            var head = $"HTTP/1.1 {response.Status} X\r\nContent-Type: text/xml\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
            await stream.WriteAsync(body, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException) { }
    }

    private static async Task<FakeHttpRequest> ReadRequestAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (buffer.Count < MaxHeaderBytes)
        {
            if (await stream.ReadAsync(one, ct) == 0) break;
            buffer.Add(one[0]);
            if (buffer.Count >= 4 && buffer[^1] == '\n' && buffer[^2] == '\r' && buffer[^3] == '\n' && buffer[^4] == '\r') break;
        }
        var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n");
        var parts = lines[0].Split(' ');
        var headers = lines.Skip(1).Where(l => l.Contains(':'))
            .GroupBy(l => l[..l.IndexOf(':')].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First()[(g.First().IndexOf(':') + 1)..].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = "";
        if (headers.TryGetValue("Content-Length", out var len) && int.TryParse(len, out var n) && n > 0)
        {
            var bytes = new byte[n];
            await stream.ReadExactlyAsync(bytes, ct);
            body = Encoding.UTF8.GetString(bytes);
        }
        return new FakeHttpRequest(parts[0], parts.Length > 1 ? parts[1] : "", headers, body);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}

/// <summary>What the fake server received.</summary>
public sealed record FakeHttpRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>What the fake server answers.</summary>
public sealed record FakeHttpResponse(int Status, string Body);
