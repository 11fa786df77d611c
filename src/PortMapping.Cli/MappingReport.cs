namespace Hivemind.PortMapping.Cli;

/// <summary>One line a person reads: what was mapped where, and whether it is really public.</summary>
internal static class MappingReport
{
    public static string Describe(MappedPort m)
    {
        var lease = m.Lifetime == TimeSpan.Zero ? "permanent (removed on exit)" : $"lifetime {m.Lifetime.TotalSeconds:0} s";
        var line = $"mapped: {m.Protocol} {m.ExternalEndPoint} -> {m.InternalClient}:{m.InternalPort} via {m.Method} at {m.Gateway}, {lease}";
        if (!m.ExternalAddressIsPublic)
            line += $"\nwarning: the router's external address {m.ExternalAddress} is private or shared (a second router or carrier-grade NAT): the mapping does not reach the internet.";
        return line;
    }
}
