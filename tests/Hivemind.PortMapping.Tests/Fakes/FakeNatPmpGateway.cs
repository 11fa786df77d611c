using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Hivemind.PortMapping.Tests.Fakes;

/// <summary>An in-process NAT-PMP gateway (RFC 6886) on 127.0.0.1 with a mapping table and scriptable misbehaviour.</summary>
public sealed class FakeNatPmpGateway : IAsyncDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _received;

    public FakeNatPmpGateway() => _loop = RunAsync();

    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    public IPAddress ExternalAddress { get; set; } = IPAddress.Parse("203.0.113.9");

    /// <summary>Requests to ignore before answering (tests retransmission).</summary>
    public int DropFirst { get; set; }

    /// <summary>Answer nothing at all.</summary>
    public bool Silent { get; set; }

    /// <summary>A nonzero result code for map requests.</summary>
    public ushort MapResult { get; set; }

    /// <summary>Added to the suggested external port when granting (routers may grant another port).</summary>
    public int PortShift { get; set; }

    /// <summary>Replaces every answer with these bytes when set.</summary>
    public byte[]? RawAnswer { get; set; }

    /// <summary>Sent before every real answer (garbage the client must ignore).</summary>
    public byte[]? Noise { get; set; }

    /// <summary>Reports the internal port off by one (an answer meant for someone else).</summary>
    public bool WrongInternalPort { get; set; }

    /// <summary>Granted lifetime in seconds, or null to grant what was asked.</summary>
    public uint? GrantedLifetime { get; set; }

    public ConcurrentDictionary<(byte Op, int InternalPort), (int ExternalPort, uint Lifetime)> Mappings { get; } = new();

    /// <summary>Every map request (op, internal, suggested external, lifetime) in order.</summary>
    public ConcurrentQueue<(byte Op, int InternalPort, int SuggestedPort, uint Lifetime)> MapRequests { get; } = new();

    public int Received => Volatile.Read(ref _received);

    /// <summary>Completes when <paramref name="count"/> datagrams have arrived.</summary>
    public Task ReceivedAtLeast(int count)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters) _waiters.Add((count, tcs));
        CheckWaiters();
        return tcs.Task;
    }

    private readonly List<(int Count, TaskCompletionSource Tcs)> _waiters = [];

    private void CheckWaiters()
    {
        lock (_waiters)
        {
            foreach (var w in _waiters.Where(w => Received >= w.Count).ToList())
            {
                w.Tcs.TrySetResult();
                _waiters.Remove(w);
            }
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                var r = await _udp.ReceiveAsync(_stop.Token);
                var n = Interlocked.Increment(ref _received);
                CheckWaiters();
                if (Silent || n <= DropFirst) continue;
                if (Noise is not null) await _udp.SendAsync(Noise, r.RemoteEndPoint, _stop.Token);
                var answer = RawAnswer ?? Answer(r.Buffer);
                if (answer is not null) await _udp.SendAsync(answer, r.RemoteEndPoint, _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
    }

    private byte[]? Answer(byte[] q)
    {
        if (q.Length < 2) return null;
        var op = q[1];
        if (op == 0)
        {
            var a = new byte[12];
            a[1] = 128;
            BinaryPrimitives.WriteUInt32BigEndian(a.AsSpan(4), 1234);
            ExternalAddress.GetAddressBytes().CopyTo(a, 8);
            return a;
        }
        var internalPort = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(4));
        var suggested = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(6));
        var lifetime = BinaryPrimitives.ReadUInt32BigEndian(q.AsSpan(8));
        MapRequests.Enqueue((op, internalPort, suggested, lifetime));
        var m = new byte[16];
        m[1] = (byte)(128 | op);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), MapResult);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(4), 1234);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(8), (ushort)(WrongInternalPort ? internalPort + 1 : internalPort));
        if (MapResult != 0) return m;
        if (lifetime == 0)
        {
            Mappings.TryRemove((op, internalPort), out _);
            return m; // external port 0, lifetime 0: deleted (§3.4)
        }
        var external = Mappings.TryGetValue((op, internalPort), out var held) ? held.ExternalPort : suggested + PortShift;
        var granted = GrantedLifetime ?? lifetime;
        Mappings[(op, internalPort)] = (external, granted);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(10), (ushort)external);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(12), granted);
        return m;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
