namespace Hivemind.PortMapping;

/// <summary>How long to wait for a router, per step. Defaults suit a home LAN; raise them on a slow or lossy Wi-Fi.</summary>
/// <param name="SsdpDiscovery">How long to collect SSDP answers to the M-SEARCH. Home routers answer within ~100 ms; 2 s allows for a busy one.</param>
/// <param name="Http">Each HTTP exchange with the UPnP gateway (device description, one SOAP call).</param>
/// <param name="NatPmpInitialRetransmit">RFC 6886 §3.1: the first NAT-PMP retransmission after 250 ms, doubling each time.</param>
/// <param name="NatPmpAttempts">RFC 6886 allows 9 attempts (about 64 s); 4 (about 3.75 s) keeps a user waiting less on a network without NAT-PMP.</param>
public sealed record PortMappingTimeouts(
    TimeSpan SsdpDiscovery,
    TimeSpan Http,
    TimeSpan NatPmpInitialRetransmit,
    int NatPmpAttempts)
{
    /// <summary>2 s discovery, 5 s per HTTP call, NAT-PMP 250 ms doubling over 4 attempts.</summary>
    public static PortMappingTimeouts Default { get; } = new(
        TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(250), 4);

    /// <summary>Total time NAT-PMP waits for an answer before giving up.</summary>
    public TimeSpan NatPmpTotal
    {
        get
        {
            var total = TimeSpan.Zero;
            for (var i = 0; i < NatPmpAttempts; i++) total += NatPmpInitialRetransmit * (1 << i);
            return total;
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value.</summary>
    public void Validate()
    {
        if (SsdpDiscovery <= TimeSpan.Zero) throw new ArgumentException($"SSDP discovery timeout {SsdpDiscovery} must be positive.", nameof(SsdpDiscovery));
        if (Http <= TimeSpan.Zero) throw new ArgumentException($"HTTP timeout {Http} must be positive.", nameof(Http));
        if (NatPmpInitialRetransmit <= TimeSpan.Zero) throw new ArgumentException($"NAT-PMP retransmit interval {NatPmpInitialRetransmit} must be positive.", nameof(NatPmpInitialRetransmit));
        if (NatPmpAttempts is < 1 or > MaxNatPmpAttempts)
            throw new ArgumentException($"NAT-PMP attempts {NatPmpAttempts} out of range: give 1–{MaxNatPmpAttempts} (RFC 6886 §3.1).", nameof(NatPmpAttempts));
    }

    /// <summary>RFC 6886 §3.1's limit.</summary>
    public const int MaxNatPmpAttempts = 9;
}
