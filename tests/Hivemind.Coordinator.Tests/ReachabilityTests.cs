using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Reachability;
using Hivemind.PortMapping;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests;

/// <summary>The dial-back self-test: verdicts with advice, dialing only the caller, and its rate limits under attack.</summary>
public sealed class ReachabilityTests
{
    private static readonly TimeSpan Signal = TimeSpan.FromSeconds(30);
    /// <summary>Long enough that a loaded machine still connects on loopback; only the timeout test waits for it, on a fake clock.</summary>
    private static readonly ReachabilityOptions Options = ReachabilityOptions.Default with { DialTimeout = TimeSpan.FromSeconds(20) };

    [Fact]
    public async Task Listening_port_is_reachable_and_a_private_caller_is_told_it_proves_little()
    {
        using var listener = Listen();
        var checker = new ReachabilityChecker(Options, new TcpDialer(), new FakeTimeProvider());
        var verdict = await checker.CheckAsync(IPAddress.Loopback, Port(listener), CancellationToken.None);
        Assert.True(verdict.Reachable);
        Assert.True(verdict.PrivateNetwork);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, Port(listener)), verdict.Dialed);
        Assert.Contains("own network only", verdict.Advice);
    }

    [Fact]
    public async Task Refused_port_says_nothing_listens_and_what_to_check()
    {
        var port = ClosedPort();
        var checker = new ReachabilityChecker(Options, new TcpDialer(), new FakeTimeProvider());
        var verdict = await checker.CheckAsync(IPAddress.Loopback, port, CancellationToken.None);
        Assert.False(verdict.Reachable);
        Assert.Contains("refused the connection", verdict.Advice);
        Assert.Contains($"listens on 0.0.0.0:{port}", verdict.Advice);
    }

    [Fact]
    public async Task Silent_host_times_out_with_port_forwarding_advice()
    {
        var time = new FakeTimeProvider();
        var dialer = new HangingDialer();
        var checker = new ReachabilityChecker(Options, dialer, time);
        var check = checker.CheckAsync(IPAddress.Parse("198.20.17.5"), 7000, CancellationToken.None);
        await dialer.Started.Task.WaitAsync(Signal);
        time.Advance(Options.DialTimeout);
        var verdict = await check.WaitAsync(Signal);
        Assert.False(verdict.Reachable);
        Assert.False(verdict.PrivateNetwork);
        Assert.Contains("did not answer within 20 s", verdict.Advice);
        Assert.Contains("forward TCP port 7000", verdict.Advice);
        Assert.Contains("carrier-grade NAT", verdict.Advice);
    }

    [Fact]
    public async Task One_check_per_caller_per_interval()
    {
        var time = new FakeTimeProvider();
        var dialer = new CountingDialer();
        var checker = new ReachabilityChecker(Options, dialer, time);
        var caller = IPAddress.Parse("198.20.17.5");
        await checker.CheckAsync(caller, 7000, CancellationToken.None);
        var e = await Assert.ThrowsAsync<ProtocolException>(() => checker.CheckAsync(caller, 7001, CancellationToken.None));
        Assert.Equal(RejectReason.RateLimited, e.Reason);
        Assert.Contains("retry in 60 s", e.Message);
        // The same caller over IPv4-mapped IPv6 is the same caller.
        await Assert.ThrowsAsync<ProtocolException>(() => checker.CheckAsync(caller.MapToIPv6(), 7000, CancellationToken.None));
        Assert.Equal(1, dialer.Dials);

        time.Advance(Options.PerCallerInterval);
        await checker.CheckAsync(caller, 7000, CancellationToken.None);
        Assert.Equal(2, dialer.Dials);
    }

    [Fact]
    public async Task One_ipv6_home_network_is_one_caller()
    {
        var dialer = new CountingDialer();
        var checker = new ReachabilityChecker(Options, dialer, new FakeTimeProvider());
        await checker.CheckAsync(IPAddress.Parse("2001:db8:17:1::10"), 7000, CancellationToken.None);
        var e = await Assert.ThrowsAsync<ProtocolException>(() => checker.CheckAsync(IPAddress.Parse("2001:db8:17:1:ffff::1"), 7000, CancellationToken.None));
        Assert.Equal(RejectReason.RateLimited, e.Reason);
        await checker.CheckAsync(IPAddress.Parse("2001:db8:17:2::10"), 7000, CancellationToken.None);
        Assert.Equal(2, dialer.Dials);
    }

    [Fact]
    public async Task Many_callers_cannot_exceed_the_coordinators_cap()
    {
        var time = new FakeTimeProvider();
        var dialer = new CountingDialer();
        var checker = new ReachabilityChecker(Options with { MaxChecksPerWindow = 3 }, dialer, time);
        for (var i = 1; i <= 3; i++) await checker.CheckAsync(IPAddress.Parse($"198.20.17.{i}"), 7000, CancellationToken.None);
        var e = await Assert.ThrowsAsync<ProtocolException>(() => checker.CheckAsync(IPAddress.Parse("198.20.17.4"), 7000, CancellationToken.None));
        Assert.Equal(RejectReason.RateLimited, e.Reason);
        Assert.Contains("already ran 3 reachability checks", e.Message);
        Assert.Equal(3, dialer.Dials);
        time.Advance(Options.Window);
        await checker.CheckAsync(IPAddress.Parse("198.20.17.4"), 7000, CancellationToken.None);
        Assert.Equal(4, dialer.Dials);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public async Task Bad_port_is_rejected_without_using_up_the_callers_check(int port)
    {
        var dialer = new CountingDialer();
        var checker = new ReachabilityChecker(Options, dialer, new FakeTimeProvider());
        var e = await Assert.ThrowsAsync<ProtocolException>(() => checker.CheckAsync(IPAddress.Loopback, port, CancellationToken.None));
        Assert.Equal(RejectReason.MalformedRequest, e.Reason);
        Assert.Contains($"port {port} is not a TCP port", e.Message);
        await checker.CheckAsync(IPAddress.Loopback, 7000, CancellationToken.None);
        Assert.Equal(1, dialer.Dials);
    }

    [Fact]
    public async Task Rpc_dials_the_connections_own_address_and_rate_limits_with_the_reason_trailer()
    {
        using var listener = Listen();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddReachability(Options);
        await using var app = builder.Build();
        app.MapReachability();
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.Urls.First());
        var client = new Protocol.V1.Reachability.ReachabilityClient(channel);

        var reply = await client.CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = 1, Port = (uint)Port(listener) }, deadline: DateTime.UtcNow.Add(Signal));
        Assert.True(reply.Reachable);
        Assert.Equal($"127.0.0.1:{Port(listener)}", reply.Dialed);
        Assert.True(reply.PrivateNetwork);

        var e = await Assert.ThrowsAsync<RpcException>(() => client.CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = 1, Port = (uint)Port(listener) }, deadline: DateTime.UtcNow.Add(Signal)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.True(RejectReasons.TryGetReason(e, out var reason));
        Assert.Equal(RejectReason.RateLimited, reason);

        var old = await Assert.ThrowsAsync<RpcException>(() => client.CheckReachableAsync(new ReachabilityRequest { ProtocolVersion = 0, Port = 7000 }, deadline: DateTime.UtcNow.Add(Signal)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, old.StatusCode);
    }

    [Fact]
    public void Upnp_refuses_a_loopback_listen_address()
    {
        var e = Assert.Throws<ArgumentException>(() => CoordinatorPortMapping.EnsureMappable("127.0.0.1"));
        Assert.Contains("--host 0.0.0.0", e.Message);
        CoordinatorPortMapping.EnsureMappable("0.0.0.0");
    }

    [Fact]
    public async Task Failed_mapping_is_logged_with_the_manual_fix_and_serving_goes_on()
    {
        var log = new ListLogger();
        var closed = new IPEndPoint(IPAddress.Loopback, ClosedPort());
        var options = new PortMapperOptions(PortMappingTimeouts.Default, NatPmpGateway: closed, UseUpnp: false);
        var lease = await CoordinatorPortMapping.TryMapAsync(5000, log, CancellationToken.None, options);
        Assert.Null(lease);
        var line = Assert.Single(log.Lines);
        Assert.Contains("does not speak NAT-PMP", line);
        Assert.Contains("forward Tcp port 5000 to 127.0.0.1:5000", line);
        Assert.Contains("keeps serving its own network", line);
    }

    private static TcpListener Listen()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return l;
    }

    private static int Port(TcpListener l) => ((IPEndPoint)l.LocalEndpoint).Port;

    private static int ClosedPort()
    {
        using var l = Listen();
        var port = Port(l);
        l.Stop();
        return port;
    }

    private sealed class HangingDialer : ITcpDialer
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task DialAsync(IPEndPoint target, CancellationToken ct)
        {
            Started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        }
    }

    private sealed class CountingDialer : ITcpDialer
    {
        private int _dials;
        public int Dials => Volatile.Read(ref _dials);

        public Task DialAsync(IPEndPoint target, CancellationToken ct)
        {
            Interlocked.Increment(ref _dials);
            return Task.CompletedTask;
        }
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
