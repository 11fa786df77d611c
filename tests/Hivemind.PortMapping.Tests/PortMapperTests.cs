using System.Net;
using Hivemind.PortMapping.Tests.Fakes;

namespace Hivemind.PortMapping.Tests;

public sealed class PortMapperTests
{
    [Fact]
    public async Task Falls_back_to_nat_pmp_when_no_upnp_gateway_answers()
    {
        await using var upnp = new FakeUpnpGateway { SsdpReply = _ => null };
        await using var natPmp = new FakeNatPmpGateway();
        var options = new PortMapperOptions(PortMappingTimeouts.Default with { SsdpDiscovery = TimeSpan.FromMilliseconds(200), NatPmpAttempts = 8 }, upnp.SsdpEndPoint, natPmp.EndPoint);
        await using var lease = await PortMapper.MapAsync(PortMappingRequest.Tcp(5000), options);
        Assert.Equal("NAT-PMP", lease.Current.Method);
        Assert.Single(natPmp.Mappings);
    }

    [Fact]
    public async Task When_nothing_works_the_error_names_both_tries_and_the_manual_forward()
    {
        await using var upnp = new FakeUpnpGateway { SsdpReply = _ => null };
        await using var natPmp = new FakeNatPmpGateway { Silent = true };
        var options = new PortMapperOptions(new PortMappingTimeouts(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(20), 2), upnp.SsdpEndPoint, natPmp.EndPoint);
        var e = await Assert.ThrowsAsync<PortMappingException>(() => PortMapper.MapAsync(PortMappingRequest.Tcp(5000), options));
        Assert.Contains("UPnP: No UPnP gateway answered within 0.1 s", e.Message);
        Assert.Contains("NAT-PMP: No NAT-PMP gateway answered", e.Message);
        Assert.Contains("forward Tcp port 5000 to 127.0.0.1:5000", e.Message);
    }

    [Fact]
    public async Task Both_methods_off_is_a_configuration_error()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => PortMapper.MapAsync(PortMappingRequest.Tcp(5000), PortMapperOptions.Default with { UseUpnp = false, UseNatPmp = false }));
        Assert.Contains("both are off", e.Message);
    }

    [Theory]
    [InlineData("203.0.113.7", true)]
    [InlineData("8.8.8.8", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("169.254.1.1", false)]
    [InlineData("2001:db8::1", true)]
    [InlineData("fd00::1", false)]
    public void Address_scope(string address, bool isPublic) => Assert.Equal(isPublic, AddressScope.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public void Default_gateway_is_read_from_the_route_table()
    {
        string[] table =
        [
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
            "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
        ];
        Assert.Equal(IPAddress.Parse("192.168.1.1"), LocalInterface.ParseDefaultGateway(table));
        Assert.Null(LocalInterface.ParseDefaultGateway(table.Take(2)));
    }
}
