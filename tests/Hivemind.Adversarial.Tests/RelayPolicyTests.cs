using System.Net;
using System.Security.Cryptography;
using Hivemind.Coordinator.Relays;
using Hivemind.Volunteer.Relay;

namespace Hivemind.Adversarial.Tests;

/// <summary>
/// Issue 17: a relay list cannot send a volunteer to hosts beyond what relay.proto documents. Relay addresses are the relay's own
/// connection address plus its port; these tests attack who may be given (or may dial) which address.
/// </summary>
public sealed class RelayPolicyTests
{
    private static readonly byte[] Sha = SHA256.HashData("parameters"u8);

    [Theory]
    [InlineData("198.51.100.7", "203.0.113.9", true)]      // public relay: anyone
    [InlineData("198.51.100.7", "127.0.0.1", true)]
    [InlineData("127.0.0.1", "127.0.0.1", true)]           // loopback only between loopback peers
    [InlineData("127.0.0.1", "203.0.113.9", false)]        // a relay on the coordinator's host must not make remote volunteers dial their own localhost
    [InlineData("127.0.0.1", "192.168.1.20", false)]
    [InlineData("192.168.1.5", "192.168.7.20", true)]      // same /16 private site
    [InlineData("192.168.1.5", "192.169.1.20", false)]
    [InlineData("10.0.0.5", "203.0.113.9", false)]         // a private relay is never given to the internet
    [InlineData("10.0.0.5", "10.1.0.5", false)]            // another private site
    [InlineData("100.64.3.1", "100.64.9.9", true)]         // CGNAT: same provider /16
    [InlineData("169.254.1.1", "203.0.113.9", false)]
    [InlineData("0.0.0.0", "0.0.0.0", false)]              // never an unspecified, broadcast or multicast address
    [InlineData("255.255.255.255", "10.0.0.1", false)]
    [InlineData("224.0.0.1", "10.0.0.1", false)]
    [InlineData("::1", "::1", true)]
    [InlineData("::1", "127.0.0.1", false)]
    [InlineData("fd00:1:2:3::5", "fd00:1:2:3::9", true)]   // ULA, same /64
    [InlineData("fd00:1:2:3::5", "fd00:1:2:4::9", false)]
    [InlineData("2001:db8::1", "fd00::1", true)]
    [InlineData("ff02::1", "ff02::1", false)]
    [InlineData("::ffff:127.0.0.1", "127.0.0.1", true)]    // IPv4-mapped is judged as IPv4
    public void RelaysReachOnlyPeersThatCouldReachThemAnyway(string relay, string peer, bool allowed) =>
        Assert.Equal(allowed, RelayAddressPolicy.MayConnect(IPAddress.Parse(relay), IPAddress.Parse(peer)));

    [Theory]
    [InlineData("198.51.100.7:7000", true)]
    [InlineData("[2001:db8::1]:7000", true)]
    [InlineData("198.51.100.7", false)]                    // no port: nothing defaulted
    [InlineData("198.51.100.7:0", false)]
    [InlineData("198.51.100.7:70000", false)]
    [InlineData("relay.example.org:7000", false)]          // names are never resolved: only checked literals are dialed
    [InlineData("http://198.51.100.7:7000", false)]
    [InlineData("198.51.100.7:7000/path", false)]
    [InlineData("", false)]
    public void OnlyIpLiteralsWithAPortAreDialed(string text, bool ok) =>
        Assert.Equal(ok, RelayAddressPolicy.TryParse(text, out _));

    [Theory]
    [InlineData("http://127.0.0.1:5000", "127.0.0.1", true)]
    [InlineData("http://localhost:5000", "127.0.0.1", true)]
    [InlineData("https://coordinator.example.org", "127.0.0.1", false)]  // a named coordinator is on the internet: only public relays
    [InlineData("https://coordinator.example.org", "10.0.0.5", false)]
    [InlineData("https://coordinator.example.org", "198.51.100.7", true)]
    [InlineData("http://10.0.3.1:5000", "10.0.0.5", true)]
    [InlineData("http://[::1]:5000", "::1", true)]
    public void AVolunteerJudgesRelaysFromItsCoordinatorsAddress(string coordinator, string relay, bool allowed) =>
        Assert.Equal(allowed, RelayAddressPolicy.MayConnect(IPAddress.Parse(relay), RelayAddressPolicy.VantageOf(new Uri(coordinator))));

    [Fact]
    public async Task TheFetcherNeverDialsAnAddressThePolicyRefuses()
    {
        // No listener anywhere: a dial would fail with a transport error, not with the policy's words.
        using var fetcher = new RelayFetcher(new Uri("https://coordinator.example.org"));
        var outcome = await fetcher.FetchAsync(["127.0.0.1:7000", "10.0.0.5:7000", "relay.example.org:7000"], 1, Sha, CancellationToken.None);

        Assert.Null(outcome.Payload);
        Assert.Equal(3, outcome.Faults.Count);
        Assert.All(outcome.Faults, f => Assert.Contains("not dialed", f, StringComparison.Ordinal));
    }

    [Fact]
    public void ADirectoryOffersLiveRelaysLeasedEarlierLeastUsedFirstAndNeverTheRequesterItself()
    {
        var live = new HashSet<string> { "s1", "s2", "s3", "s4" };
        var directory = new RelayDirectory(live.Contains);
        var loopback = IPAddress.Loopback;
        for (int i = 1; i <= 4; i++) directory.Register($"r{i}", $"s{i}", new IPEndPoint(loopback, 7000 + i));

        Assert.Empty(directory.Lease("r1", loopback, 1, Sha));                      // first holder: nobody to ask yet
        Assert.Equal(["127.0.0.1:7001"], directory.Lease("r2", loopback, 1, Sha));
        Assert.Equal(2, directory.Lease("r3", loopback, 1, Sha).Count);
        Assert.Equal(RelayDirectory.MaxRelaysPerReply, directory.Lease("r4", loopback, 1, Sha).Count);
        Assert.Empty(directory.Lease("r1", loopback, 1, Sha));                      // asking again does not make it a downloader of later relays
        Assert.Empty(directory.Lease("plain", loopback, 1, SHA256.HashData("other shard"u8)));  // nobody holds that content
        Assert.Empty(directory.Lease("plain", loopback, 2, Sha));                   // nor that version

        // The least used relays come first: r4 has been handed out least.
        Assert.Contains("127.0.0.1:7004", directory.Lease("plain", loopback, 1, Sha));

        live.Remove("s1");                                                          // r1's session ended
        Assert.DoesNotContain("127.0.0.1:7001", directory.Lease("plain2", loopback, 1, Sha));
        Assert.Equal(3, directory.Count);
    }

    [Fact]
    public void ADirectoryNeverHandsALoopbackOrPrivateRelayToAVolunteerElsewhere()
    {
        var directory = new RelayDirectory(_ => true);
        directory.Register("local", "s1", new IPEndPoint(IPAddress.Loopback, 7001));
        directory.Register("lan", "s2", new IPEndPoint(IPAddress.Parse("192.168.1.5"), 7002));
        directory.Lease("local", IPAddress.Loopback, 1, Sha);
        directory.Lease("lan", IPAddress.Parse("192.168.1.5"), 1, Sha);

        Assert.Empty(directory.Lease("remote", IPAddress.Parse("203.0.113.9"), 1, Sha));
        Assert.Equal(["192.168.1.5:7002"], directory.Lease("neighbour", IPAddress.Parse("192.168.1.20"), 1, Sha));
        Assert.Equal(["127.0.0.1:7001"], directory.Lease("same-host", IPAddress.Loopback, 1, Sha));
        Assert.Empty(directory.Lease("unknown-address", null, 1, Sha));
    }
}
