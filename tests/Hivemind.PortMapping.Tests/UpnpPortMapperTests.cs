using System.Net;
using Hivemind.PortMapping.Tests.Fakes;
using Hivemind.PortMapping.Upnp;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.PortMapping.Tests;

public sealed class UpnpPortMapperTests
{
    /// <summary>Waits for an answer on a loaded machine; tests that expect silence use <see cref="Quick"/> instead.</summary>
    private static readonly PortMappingTimeouts Patient = PortMappingTimeouts.Default with { SsdpDiscovery = TimeSpan.FromSeconds(10), Http = TimeSpan.FromSeconds(10) };
    /// <summary>For tests where nothing will answer: the outcome does not depend on the length.</summary>
    private static readonly PortMappingTimeouts Quick = PortMappingTimeouts.Default with { SsdpDiscovery = TimeSpan.FromMilliseconds(200), Http = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task Discovers_maps_with_a_lease_and_removes_on_dispose()
    {
        await using var gw = new FakeUpnpGateway();
        var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        Assert.Equal(FakeUpnpGateway.ServiceType, mapper.Gateway.ServiceType);
        Assert.Equal($"http://127.0.0.1:{gw.HttpPort}{FakeUpnpGateway.ControlPath}", mapper.Gateway.ControlUrl.ToString());

        var lease = await PortMappingLease.CreateAsync(mapper, new PortMappingRequest(MappingProtocol.Tcp, 5000, 15000, TimeSpan.FromMinutes(10), "hm-test"));
        Assert.Equal("203.0.113.7:15000", lease.Current.ExternalEndPoint.ToString());
        Assert.Equal(UpnpPortMapper.MethodName, lease.Current.Method);
        var entry = Assert.Single(gw.Mappings);
        Assert.Equal(("TCP", 15000), entry.Key);
        Assert.Equal(("127.0.0.1", 5000, 600, "hm-test"), entry.Value);

        await lease.DisposeAsync();
        Assert.Empty(gw.Mappings);
        Assert.Equal(1, gw.ActionCount("DeletePortMapping"));
    }

    [Fact]
    public async Task Silent_network_says_which_interface_was_searched_and_what_to_do()
    {
        await using var gw = new FakeUpnpGateway { SsdpReply = _ => null };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => UpnpPortMapper.DiscoverAsync(Quick, gw.SsdpEndPoint));
        Assert.Contains("No UPnP gateway answered within 0.2 s on 127.0.0.1", e.Message);
        Assert.Contains("Enable UPnP", e.Message);
        Assert.Contains("forward the port by hand", e.Message);
    }

    [Theory]
    [InlineData("garbage\r\n\r\n", "not an SSDP 200 answer")]
    [InlineData("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n", "no LOCATION")]
    [InlineData("HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.2:1/x.xml\r\n\r\n", "not the address that answered")]
    [InlineData("HTTP/1.1 200 OK\r\nLOCATION: https://127.0.0.1:1/x.xml\r\n\r\n", "not an http URL")]
    [InlineData("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\nLOCATION: http://127.0.0.1:1/x.xml\r\n\r\n", "not an Internet gateway")]
    public void Unusable_ssdp_answers_are_named(string reply, string reason)
    {
        Assert.Null(SsdpDiscovery.ParseResponse(reply, IPAddress.Loopback, out var why));
        Assert.Contains(reason, why);
    }

    [Fact]
    public async Task Unusable_ssdp_answer_is_ignored_and_no_gateway_is_contacted()
    {
        await using var gw = new FakeUpnpGateway { SsdpReply = port => $"HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.2:{port}/rootDesc.xml\r\n\r\n" };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => UpnpPortMapper.DiscoverAsync(Quick, gw.SsdpEndPoint));
        Assert.Contains("No UPnP gateway answered", e.Message);
        Assert.Empty(gw.Actions);
    }

    [Fact]
    public void Valid_ssdp_answer_gives_its_location()
    {
        var uri = SsdpDiscovery.ParseResponse("HTTP/1.1 200 OK\r\nst: urn:schemas-upnp-org:service:WANIPConnection:1\r\nLocation: http://127.0.0.1:5431/rootDesc.xml\r\n\r\n", IPAddress.Loopback, out _);
        Assert.Equal("http://127.0.0.1:5431/rootDesc.xml", uri!.ToString());
    }

    [Theory]
    [InlineData("<root><unclosed>", "not valid XML")]
    [InlineData("<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><root>&b;</root>", "not valid XML")]
    [InlineData("<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/x</controlURL></service></serviceList></device></root>", "not an Internet gateway")]
    public async Task Malformed_or_foreign_descriptions_are_refused(string description, string reason)
    {
        await using var gw = new FakeUpnpGateway { Description = description };
        var e = await Assert.ThrowsAsync<PortMappingException>(() => UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint));
        Assert.Contains(reason, e.Message);
        Assert.Contains(gw.HttpPort.ToString(), e.Message);
    }

    [Fact]
    public void Control_url_on_another_host_is_refused()
    {
        var xml = FakeUpnpGateway.ValidDescription(FakeUpnpGateway.ServiceType, "http://127.0.0.2:80/ctl");
        var e = Assert.Throws<PortMappingException>(() => GatewayDescription.Parse(xml, new Uri("http://127.0.0.1:5431/rootDesc.xml")));
        Assert.Contains("on another host", e.Message);
    }

    [Fact]
    public void Url_base_and_ppp_connection_are_honoured()
    {
        var xml = FakeUpnpGateway.ValidDescription("urn:schemas-upnp-org:service:WANPPPConnection:1", "ctl/ppp", urlBase: "http://127.0.0.1:8080/base/");
        var d = GatewayDescription.Parse(xml, new Uri("http://127.0.0.1:5431/rootDesc.xml"));
        Assert.Equal("http://127.0.0.1:8080/base/ctl/ppp", d.ControlUrl.ToString());
        Assert.Equal("urn:schemas-upnp-org:service:WANPPPConnection:1", d.ServiceType);
    }

    [Fact]
    public async Task Conflict_names_the_upnp_error_and_the_fix()
    {
        await using var gw = new FakeUpnpGateway();
        gw.Override = (action, _) => action == "AddPortMapping" ? FakeUpnpGateway.SoapFault(718, "ConflictInMappingEntry") : null;
        using var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        var e = await Assert.ThrowsAsync<PortMappingException>(() => mapper.MapAsync(PortMappingRequest.Tcp(5000)));
        Assert.Equal(718, e.GatewayErrorCode);
        Assert.Contains("UPnP error 718: ConflictInMappingEntry", e.Message);
        Assert.Contains("already forwarded to another computer", e.Message);
    }

    [Fact]
    public async Task Router_that_keeps_only_permanent_mappings_gets_one_and_it_is_still_removed()
    {
        await using var gw = new FakeUpnpGateway();
        gw.Override = (action, args) => action == "AddPortMapping" && args["NewLeaseDuration"] != "0" ? FakeUpnpGateway.SoapFault(725, "OnlyPermanentLeasesSupported") : null;
        var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        var lease = await PortMappingLease.CreateAsync(mapper, PortMappingRequest.Tcp(5000));
        Assert.Equal(TimeSpan.Zero, lease.Current.Lifetime);
        Assert.Equal(0, Assert.Single(gw.Mappings).Value.Lease);
        await lease.DisposeAsync();
        Assert.Empty(gw.Mappings);
    }

    [Fact]
    public async Task Hung_control_url_times_out_with_the_action_named()
    {
        await using var gw = new FakeUpnpGateway();
        gw.Hung["GetExternalIPAddress"] = true;
        var time = new FakeTimeProvider();
        using var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint, time);
        var arrived = gw.Received("GetExternalIPAddress");
        var call = mapper.GetExternalAddressAsync();
        await arrived.WaitAsync(TestLimits.Signal);
        time.Advance(Patient.Http);
        var e = await Assert.ThrowsAsync<PortMappingException>(() => call);
        Assert.Contains("did not answer GetExternalIPAddress within 10 s", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0.0.0.0")]
    [InlineData("not-an-address")]
    public async Task Unusable_external_address_is_an_error(string address)
    {
        await using var gw = new FakeUpnpGateway { ExternalAddress = address };
        using var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        var e = await Assert.ThrowsAsync<PortMappingException>(() => mapper.MapAsync(PortMappingRequest.Tcp(5000)));
        Assert.Contains("no usable external address", e.Message);
        Assert.Empty(gw.Mappings);
    }

    [Fact]
    public async Task Oversized_and_non_xml_soap_answers_are_refused()
    {
        await using var gw = new FakeUpnpGateway();
        using var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        gw.Override = (_, _) => new FakeHttpResponse(200, "<a>" + new string('x', 70_000) + "</a>");
        Assert.Contains("over the 65536 accepted", (await Assert.ThrowsAsync<PortMappingException>(() => mapper.GetExternalAddressAsync())).Message);
        gw.Override = (_, _) => new FakeHttpResponse(200, "not xml");
        Assert.Contains("not XML", (await Assert.ThrowsAsync<PortMappingException>(() => mapper.GetExternalAddressAsync())).Message);
        gw.Override = (_, _) => new FakeHttpResponse(200, "<ok/>");
        Assert.Contains("without a GetExternalIPAddressResponse", (await Assert.ThrowsAsync<PortMappingException>(() => mapper.GetExternalAddressAsync())).Message);
    }

    [Fact]
    public async Task Bad_request_is_rejected_before_anything_is_sent()
    {
        await using var gw = new FakeUpnpGateway();
        using var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => mapper.MapAsync(new PortMappingRequest(MappingProtocol.Tcp, 0, 5000, TimeSpan.FromHours(1))));
        Assert.Contains("InternalPort 0 is not a port", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => mapper.MapAsync(new PortMappingRequest(MappingProtocol.Tcp, 5000, 5000, TimeSpan.Zero)));
        Assert.Empty(gw.Actions);
    }
}
