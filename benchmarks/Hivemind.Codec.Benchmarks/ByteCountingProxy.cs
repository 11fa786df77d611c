using System.Net;
using System.Net.Sockets;

namespace Hivemind.Codec.Benchmarks;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of the coordinator that counts every byte each way: what volunteers really move over the wire
/// (gRPC, HTTP/2 and protobuf framing, joins, work replies and heartbeats included), not what the code computes it should.
/// </summary>
internal sealed class ByteCountingProxy : IAsyncDisposable
{
    private const int BufferBytes = 64 << 10;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _pumps = [];
    private readonly Task _accepting;
    private long _up;
    private long _down;

    public ByteCountingProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The proxy's address for clients, as "http://127.0.0.1:port".</summary>
    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Bytes from clients to the coordinator.</summary>
    public long BytesUp => Interlocked.Read(ref _up);

    /// <summary>Bytes from the coordinator to clients.</summary>
    public long BytesDown => Interlocked.Read(ref _down);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var server = new TcpClient();
            await server.ConnectAsync(_target, _stop.Token);
            client.NoDelay = server.NoDelay = true;
            lock (_pumps)
            {
                _pumps.Add(PumpAsync(client, server, up: true));
                _pumps.Add(PumpAsync(server, client, up: false));
            }
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool up)
    {
        var buffer = new byte[BufferBytes];
        try
        {
            var source = from.GetStream();
            var sink = to.GetStream();
            int n;
            while ((n = await source.ReadAsync(buffer, _stop.Token)) > 0)
            {
                Interlocked.Add(ref up ? ref _up : ref _down, n);
                await sink.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // A closed connection ends its pump; the counts so far stand.
        }
        finally
        {
            from.Close();
            to.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] pumps;
        lock (_pumps) pumps = [.. _pumps];
        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
