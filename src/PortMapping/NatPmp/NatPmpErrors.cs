using System.Net;

namespace Hivemind.PortMapping.NatPmp;

/// <summary>Turns a NAT-PMP result code (RFC 6886 §3.5) into a sentence that says what to do.</summary>
internal static class NatPmpErrors
{
    public static string Explain(IPEndPoint gateway, string what, int result) =>
        $"The NAT-PMP gateway {gateway} refused {what} (result {result}: " + result switch
        {
            1 => "unsupported version). The router speaks a newer protocol (PCP); enable UPnP on it, or forward the port by hand.",
            2 => "not authorized). NAT-PMP is off or restricted on the router: enable it, or forward the port by hand.",
            3 => "network failure). The router has no external address yet: check its internet connection, then retry.",
            4 => "out of resources). The router's mapping table is full: remove unused port forwards, or forward the port by hand.",
            5 => "unsupported opcode). Enable UPnP on the router, or forward the port by hand.",
            _ => "unknown code). Forward the port by hand.",
        };
}
