namespace Hivemind.PortMapping;

/// <summary>A router did not answer, refused, or answered nonsense. The message says what failed and what the user can do.</summary>
public sealed class PortMappingException : Exception
{
    public PortMappingException(string message) : base(message) { }

    public PortMappingException(string message, Exception inner) : base(message, inner) { }

    /// <summary>UPnP errorCode or NAT-PMP result code when the router refused, else null.</summary>
    public int? GatewayErrorCode { get; init; }
}
