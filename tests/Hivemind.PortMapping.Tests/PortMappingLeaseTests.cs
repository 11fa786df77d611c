using Hivemind.PortMapping.NatPmp;
using Hivemind.PortMapping.Tests.Fakes;
using Hivemind.PortMapping.Upnp;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.PortMapping.Tests;

public sealed class PortMappingLeaseTests
{
    private static readonly PortMappingTimeouts Patient = PortMappingTimeouts.Default with { SsdpDiscovery = TimeSpan.FromSeconds(10), Http = TimeSpan.FromSeconds(10), NatPmpAttempts = 8 };

    [Fact]
    public async Task Upnp_lease_is_renewed_at_half_life_and_not_before()
    {
        await using var gw = new FakeUpnpGateway();
        var time = new FakeTimeProvider();
        var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        await using var lease = await PortMappingLease.CreateAsync(mapper, new PortMappingRequest(MappingProtocol.Tcp, 5000, 5000, TimeSpan.FromMinutes(10)), time);
        var renewed = Signal(lease);

        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(1, gw.ActionCount("AddPortMapping"));
        time.Advance(TimeSpan.FromSeconds(1));
        await renewed.WaitAsync(TestLimits.Signal);
        Assert.Equal(2, gw.ActionCount("AddPortMapping"));
        Assert.Equal(600, gw.Mappings[("TCP", 5000)].Lease);
    }

    [Fact]
    public async Task Failed_renewal_is_reported_and_retried_at_half_the_remaining_time()
    {
        await using var gw = new FakeUpnpGateway();
        var time = new FakeTimeProvider();
        var mapper = await UpnpPortMapper.DiscoverAsync(Patient, gw.SsdpEndPoint);
        await using var lease = await PortMappingLease.CreateAsync(mapper, new PortMappingRequest(MappingProtocol.Tcp, 5000, 5000, TimeSpan.FromMinutes(10)), time);
        var failed = new TaskCompletionSource<PortMappingException>(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.RenewalFailed += e => failed.TrySetResult(e);
        gw.Override = (action, _) => action == "AddPortMapping" ? FakeUpnpGateway.SoapFault(501, "ActionFailed") : null;

        time.Advance(TimeSpan.FromMinutes(5));
        var error = await failed.Task.WaitAsync(TestLimits.Signal);
        Assert.Contains("UPnP error 501", error.Message);

        gw.Override = null;
        var renewed = Signal(lease);
        time.Advance(TimeSpan.FromMinutes(2.5) - TimeSpan.FromSeconds(1));
        Assert.False(renewed.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await renewed.WaitAsync(TestLimits.Signal);
    }

    [Fact]
    public async Task Nat_pmp_renewal_asks_for_the_port_it_was_granted()
    {
        await using var gw = new FakeNatPmpGateway { PortShift = 7 };
        var time = new FakeTimeProvider();
        await using var lease = await PortMappingLease.CreateAsync(new NatPmpPortMapper(gw.EndPoint, Patient), new PortMappingRequest(MappingProtocol.Tcp, 5000, 5000, TimeSpan.FromSeconds(60)), time);
        Assert.Equal(5007, lease.Current.ExternalPort);
        var renewed = Signal(lease);
        time.Advance(TimeSpan.FromSeconds(30));
        await renewed.WaitAsync(TestLimits.Signal);
        Assert.Equal(5007, gw.MapRequests.Last().SuggestedPort);
        Assert.Equal(5007, lease.Current.ExternalPort);
    }

    [Fact]
    public async Task Dispose_stops_renewal_and_deletes_once()
    {
        await using var gw = new FakeNatPmpGateway();
        var time = new FakeTimeProvider();
        var lease = await PortMappingLease.CreateAsync(new NatPmpPortMapper(gw.EndPoint, Patient), new PortMappingRequest(MappingProtocol.Tcp, 5000, 5000, TimeSpan.FromSeconds(60)), time);
        await lease.DisposeAsync();
        await lease.DisposeAsync();
        Assert.Empty(gw.Mappings);
        var requests = gw.MapRequests.Count;
        time.Advance(TimeSpan.FromHours(1));
        Assert.False(await lease.RenewAsync());
        Assert.Equal(requests, gw.MapRequests.Count);
        Assert.Equal(1, gw.MapRequests.Count(r => r.Lifetime == 0));
    }

    private static Task Signal(PortMappingLease lease)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.Renewed += _ => tcs.TrySetResult();
        return tcs.Task;
    }
}
