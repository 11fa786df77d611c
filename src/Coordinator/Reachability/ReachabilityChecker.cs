using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hivemind.PortMapping;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Reachability;

/// <summary>
/// Dials a caller back once to tell it whether others can reach it (the lesson from Petals: say so plainly, with what to do).
/// Only the caller's own address is dialed, never one the caller names, and checks are rate-limited per caller address and
/// (an IPv6 caller per /64) and overall, so the coordinator can be neither a port scanner nor a traffic amplifier.
/// </summary>
public sealed class ReachabilityChecker
{
    private readonly ReachabilityOptions _options;
    private readonly ITcpDialer _dialer;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, DateTimeOffset> _lastByCaller = [];
    private readonly Queue<DateTimeOffset> _recent = new();
    private readonly Dictionary<IPEndPoint, DateTimeOffset> _confirmed = [];

    /// <summary>Confirmations kept for relay registration (issue 17); the oldest go first beyond it.</summary>
    private const int MaxConfirmations = 4096;

    /// <summary>True when a dial-back to exactly <paramref name="caller"/>:<paramref name="port"/> connected within <paramref name="within"/> (relay registration requires one).</summary>
    public bool ConfirmedRecently(IPAddress caller, int port, TimeSpan within)
    {
        if (caller.IsIPv4MappedToIPv6) caller = caller.MapToIPv4();
        lock (_gate)
            return _confirmed.TryGetValue(new IPEndPoint(caller, port), out var at) && _time.GetUtcNow() - at <= within;
    }

    private void Confirm(IPEndPoint target)
    {
        lock (_gate)
        {
            if (_confirmed.Count >= MaxConfirmations && !_confirmed.ContainsKey(target))
                _confirmed.Remove(_confirmed.MinBy(kv => kv.Value).Key);
            _confirmed[target] = _time.GetUtcNow();
        }
    }

    public ReachabilityChecker(ReachabilityOptions options, ITcpDialer dialer, TimeProvider time)
    {
        options.Validate();
        _options = options;
        _dialer = dialer;
        _time = time;
    }

    /// <summary>Dials <paramref name="caller"/>:<paramref name="port"/> once.</summary>
    /// <exception cref="ProtocolException"><see cref="RejectReason.MalformedRequest"/> for a bad port, <see cref="RejectReason.RateLimited"/> when the caller asked too recently or the coordinator is at its cap; neither consumes a check.</exception>
    public async Task<ReachabilityVerdict> CheckAsync(IPAddress caller, int port, CancellationToken ct)
    {
        if (port is < 1 or > 65535)
            throw new ProtocolException(RejectReason.MalformedRequest, $"port {port} is not a TCP port; give the public port you listen on, 1..65535");
        if (caller.IsIPv4MappedToIPv6) caller = caller.MapToIPv4();
        Admit(caller);

        var target = new IPEndPoint(caller, port);
        var isPrivate = !AddressScope.IsPublic(caller);
        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(_options.DialTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await _dialer.DialAsync(target, linked.Token);
            Confirm(target);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var advice = isPrivate
                ? $"reachable from the coordinator's own network only: {target} accepted a TCP connection, but {caller} is a private address, so this says nothing about the internet."
                : $"reachable: the coordinator connected to {target} in {elapsed.TotalMilliseconds:0} ms.";
            return new ReachabilityVerdict(true, target, advice, elapsed, isPrivate);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return Unreachable(target, started, isPrivate,
                $"not reachable: {target} did not answer within {_options.DialTimeout.TotalSeconds:0.##} s. Map the port (--upnp), or forward TCP port {port} " +
                "to this computer in your router. If the router's own WAN address is in 100.64.0.0/10 or private, your provider uses carrier-grade NAT: " +
                "ask it for a public IPv4 address, or stay a plain volunteer (no inbound connections needed).");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return Unreachable(target, started, isPrivate,
                $"not reachable: {target} refused the connection. The router forwards the port but nothing listens behind it: check that the program " +
                $"listens on 0.0.0.0:{port} (not 127.0.0.1) and that this computer's firewall allows TCP port {port}.");
        }
        catch (SocketException e)
        {
            return Unreachable(target, started, isPrivate,
                $"not reachable: dialing {target} failed ({e.SocketErrorCode}). Forward TCP port {port} to this computer in your router, or map it with --upnp.");
        }
    }

    private static ReachabilityVerdict Unreachable(IPEndPoint target, long started, bool isPrivate, string advice) =>
        new(false, target, advice, Stopwatch.GetElapsedTime(started), isPrivate);

    /// <summary>An IPv6 home network gets a whole /64, so one subscriber is one /64, not one address.</summary>
    private const int Ipv6SubscriberPrefixBytes = 8;

    private static IPAddress RateKey(IPAddress caller)
    {
        if (caller.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return caller;
        var bytes = caller.GetAddressBytes();
        Array.Clear(bytes, Ipv6SubscriberPrefixBytes, bytes.Length - Ipv6SubscriberPrefixBytes);
        return new IPAddress(bytes);
    }

    private void Admit(IPAddress caller)
    {
        caller = RateKey(caller);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            while (_recent.Count > 0 && now - _recent.Peek() >= _options.Window) _recent.Dequeue();
            foreach (var stale in _lastByCaller.Where(kv => now - kv.Value >= _options.PerCallerInterval).Select(kv => kv.Key).ToList())
                _lastByCaller.Remove(stale);

            if (_lastByCaller.TryGetValue(caller, out var last))
            {
                var wait = _options.PerCallerInterval - (now - last);
                throw new ProtocolException(RejectReason.RateLimited,
                    $"{caller} asked for a reachability check {(now - last).TotalSeconds:0} s ago; one check per address every {_options.PerCallerInterval.TotalSeconds:0} s (retry in {wait.TotalSeconds:0} s)");
            }
            if (_recent.Count >= _options.MaxChecksPerWindow)
            {
                var wait = _options.Window - (now - _recent.Peek());
                throw new ProtocolException(RejectReason.RateLimited,
                    $"the coordinator already ran {_recent.Count} reachability checks in the last {_options.Window.TotalSeconds:0} s, its limit (retry in {wait.TotalSeconds:0} s)");
            }
            _lastByCaller[caller] = now;
            _recent.Enqueue(now);
        }
    }
}
