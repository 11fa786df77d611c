namespace Hivemind.PortMapping;

/// <summary>What to ask the router for: forward <see cref="ExternalPort"/> on its public address to this host's <see cref="InternalPort"/>.</summary>
/// <param name="Protocol">TCP or UDP.</param>
/// <param name="InternalPort">The port this host listens on (1–65535).</param>
/// <param name="ExternalPort">The public port wanted (1–65535); routers may grant another one (NAT-PMP) or refuse (UPnP error 718).</param>
/// <param name="Lifetime">How long the router keeps the mapping unless renewed; <see cref="PortMappingLease"/> renews it at half-life.</param>
/// <param name="Description">Shown in the router's port-forwarding page (UPnP only).</param>
public sealed record PortMappingRequest(MappingProtocol Protocol, int InternalPort, int ExternalPort, TimeSpan Lifetime, string Description = "Hivemind")
{
    /// <summary>One hour: long enough that a missed renewal is harmless, short enough that a crashed node's mapping goes away.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(1);

    /// <summary>NAT-PMP carries the lifetime in a u32 of seconds; UPnP's NewLeaseDuration is a ui4 as well.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromSeconds(uint.MaxValue);

    /// <summary>A TCP mapping of the same port inside and outside, for <see cref="DefaultLifetime"/>.</summary>
    public static PortMappingRequest Tcp(int port, string description = "Hivemind") =>
        new(MappingProtocol.Tcp, port, port, DefaultLifetime, description);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value and the allowed range.</summary>
    public void Validate()
    {
        CheckPort(InternalPort, nameof(InternalPort));
        CheckPort(ExternalPort, nameof(ExternalPort));
        if (Lifetime < TimeSpan.FromSeconds(1) || Lifetime > MaxLifetime)
            throw new ArgumentException($"Port mapping lifetime {Lifetime} is out of range: give between 1 s and {MaxLifetime.TotalSeconds:0} s (a permanent mapping is never asked for, so a crash cannot leave one behind).", nameof(Lifetime));
        if (Description.Length > MaxDescriptionLength)
            throw new ArgumentException($"Port mapping description is {Description.Length} characters; give at most {MaxDescriptionLength}.", nameof(Description));
    }

    /// <summary>Some routers truncate or refuse longer descriptions.</summary>
    public const int MaxDescriptionLength = 64;

    private static void CheckPort(int port, string name)
    {
        if (port is < 1 or > 65535)
            throw new ArgumentException($"{name} {port} is not a port: give 1–65535.", name);
    }
}
