using System.Net;
using System.Net.Sockets;
using Hivemind.PortMapping.NatPmp;
using Hivemind.PortMapping.Tests.Fakes;

namespace Hivemind.PortMapping.Tests;

public sealed class NatPmpPortMapperTests
{
    /// <summary>Eight attempts from 250 ms: about a minute for an answer on a loaded machine.</summary>
    private static readonly PortMappingTimeouts Patient = PortMappingTimeouts.Default with { NatPmpAttempts = 8 };
    /// <summary>For tests where nothing will answer: the outcome does not depend on the length.</summary>
    private static readonly PortMappingTimeouts Quick = PortMappingTimeouts.Default with { NatPmpInitialRetransmit = TimeSpan.FromMilliseconds(20), NatPmpAttempts = 3 };

    [Fact]
    public async Task Maps_tcp_with_the_granted_lifetime_and_deletes_with_lifetime_zero()
    {
        await using var gw = new FakeNatPmpGateway { GrantedLifetime = 120 };
        var mapper = new NatPmpPortMapper(gw.EndPoint, Patient);
        Assert.Equal(IPAddress.Parse("203.0.113.9"), await mapper.GetExternalAddressAsync());

        var mapping = await mapper.MapAsync(new PortMappingRequest(MappingProtocol.Tcp, 5000, 15000, TimeSpan.FromHours(1)));
        Assert.Equal("203.0.113.9:15000", mapping.ExternalEndPoint.ToString());
        Assert.Equal(TimeSpan.FromSeconds(120), mapping.Lifetime);
        // A loaded machine can answer after the first retransmit timer: a retransmission is the same request, never another one.
        Assert.NotEmpty(gw.MapRequests);
        Assert.All(gw.MapRequests, r => Assert.Equal((2, 5000, 15000, 3600u), r));
        Assert.Single(gw.Mappings);

        await mapper.UnmapAsync(mapping);
        Assert.Equal((2, 5000, 0, 0u), gw.MapRequests.Last());
        Assert.Empty(gw.Mappings);
    }

    [Fact]
    public async Task Udp_uses_opcode_1()
    {
        await using var gw = new FakeNatPmpGateway();
        var mapping = await new NatPmpPortMapper(gw.EndPoint, Patient).MapAsync(new PortMappingRequest(MappingProtocol.Udp, 6000, 6000, TimeSpan.FromMinutes(5)));
        Assert.Equal(MappingProtocol.Udp, mapping.Protocol);
        // Every request (a loaded machine may retransmit before the answer arrives) uses opcode 1.
        Assert.NotEmpty(gw.MapRequests);
        Assert.All(gw.MapRequests, r => Assert.Equal(1, r.Op));
    }

    [Fact]
    public async Task Lost_requests_are_retransmitted()
    {
        await using var gw = new FakeNatPmpGateway { DropFirst = 2 };
        Assert.Equal(IPAddress.Parse("203.0.113.9"), await new NatPmpPortMapper(gw.EndPoint, Patient).GetExternalAddressAsync());
        Assert.True(gw.Received >= 3);
    }

    [Fact]
    public async Task Silence_is_reported_after_the_configured_attempts()
    {
        await using var gw = new FakeNatPmpGateway { Silent = true };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => new NatPmpPortMapper(gw.EndPoint, Quick).GetExternalAddressAsync());
        Assert.Contains($"No NAT-PMP gateway answered the external address at {gw.EndPoint} within 0.14 s (3 attempts)", e.Message);
        Assert.Contains("forward the port by hand", e.Message);
        await gw.ReceivedAtLeast(3).WaitAsync(TestLimits.Signal);
    }

    [Fact]
    public async Task Closed_port_says_the_router_does_not_speak_nat_pmp()
    {
        // A loopback UDP port nobody listens on: the kernel answers ICMP port unreachable.
        using var reserve = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        reserve.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closed = (IPEndPoint)reserve.LocalEndPoint!;
        reserve.Close();
        var e = await Assert.ThrowsAsync<PortMappingException>(() => new NatPmpPortMapper(closed, Patient).GetExternalAddressAsync());
        Assert.Contains("does not speak NAT-PMP", e.Message);
    }

    [Theory]
    [InlineData(2, "not authorized")]
    [InlineData(3, "network failure")]
    [InlineData(4, "out of resources")]
    [InlineData(99, "unknown code")]
    public async Task Refusals_carry_the_result_code_and_a_fix(ushort code, string text)
    {
        await using var gw = new FakeNatPmpGateway { MapResult = code };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => new NatPmpPortMapper(gw.EndPoint, Patient).MapAsync(PortMappingRequest.Tcp(5000)));
        Assert.Equal(code, e.GatewayErrorCode);
        Assert.Contains($"result {code}: {text}", e.Message);
    }

    [Fact]
    public async Task Garbage_and_answers_to_other_opcodes_are_ignored()
    {
        await using var gw = new FakeNatPmpGateway { Noise = [0, 130, 0, 0, 1, 2] };
        var mapping = await new NatPmpPortMapper(gw.EndPoint, Patient).MapAsync(new PortMappingRequest(MappingProtocol.Udp, 6000, 6000, TimeSpan.FromMinutes(5)));
        Assert.Equal(6000, mapping.ExternalPort);
    }

    [Fact]
    public async Task Truncated_answer_is_an_error()
    {
        await using var gw = new FakeNatPmpGateway { RawAnswer = [0, 128, 0, 0, 0, 0] };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => new NatPmpPortMapper(gw.EndPoint, Patient).GetExternalAddressAsync());
        Assert.Contains("with 6 bytes, expected 12", e.Message);
    }

    [Fact]
    public async Task Answer_for_another_internal_port_is_refused()
    {
        await using var gw = new FakeNatPmpGateway { WrongInternalPort = true };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => new NatPmpPortMapper(gw.EndPoint, Patient).MapAsync(PortMappingRequest.Tcp(5000)));
        Assert.Contains("internal port 5001, not 5000", e.Message);
    }

    [Fact]
    public void Bad_timeouts_are_rejected_with_the_value()
    {
        var e = Assert.Throws<ArgumentException>(() => new NatPmpPortMapper(new IPEndPoint(IPAddress.Loopback, 5351), PortMappingTimeouts.Default with { NatPmpAttempts = 10 }));
        Assert.Contains("NAT-PMP attempts 10 out of range", e.Message);
    }
}
