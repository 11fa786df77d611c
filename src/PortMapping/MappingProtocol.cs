namespace Hivemind.PortMapping;

/// <summary>The transport protocol a port mapping forwards.</summary>
public enum MappingProtocol
{
    Tcp,
    Udp,
}
