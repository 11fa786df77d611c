using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Hivemind.PortMapping.NatPmp;

/// <summary>
/// Port mappings with NAT-PMP (RFC 6886), which Apple routers and miniupnpd speak: 12-byte UDP requests to the gateway's port 5351,
/// retransmitted after 250 ms doubling (§3.1). Hand-written for the same reason as the UPnP client: Open.NAT and Mono.Nat are not served here.
/// </summary>
public sealed class NatPmpPortMapper : IPortMapper
{
    public const string MethodName = "NAT-PMP";

    /// <summary>The port every NAT-PMP gateway listens on (RFC 6886 §3).</summary>
    public const int GatewayPort = 5351;

    private const byte Version = 0;
    private const byte OpExternalAddress = 0;
    private const byte OpMapUdp = 1;
    private const byte OpMapTcp = 2;
    /// <summary>Responses set the top bit of the request's opcode (§3.2).</summary>
    private const byte ResponseBit = 128;
    private const int ExternalAddressResponseLength = 12;
    private const int MapResponseLength = 16;

    private readonly IPEndPoint _gateway;
    private readonly PortMappingTimeouts _timeouts;
    private readonly TimeProvider _time;

    /// <param name="gateway">The router: its LAN address and <see cref="GatewayPort"/> (tests pass a loopback fake).</param>
    public NatPmpPortMapper(IPEndPoint gateway, PortMappingTimeouts timeouts, TimeProvider? time = null)
    {
        timeouts.Validate();
        _gateway = gateway;
        _timeouts = timeouts;
        _time = time ?? TimeProvider.System;
    }

    public string Method => MethodName;

    public async Task<IPAddress> GetExternalAddressAsync(CancellationToken ct = default)
    {
        var response = await ExchangeAsync([Version, OpExternalAddress], OpExternalAddress, ExternalAddressResponseLength, "the external address", ct);
        return new IPAddress(response.AsSpan(8, 4));
    }

    public async Task<MappedPort> MapAsync(PortMappingRequest request, CancellationToken ct = default)
    {
        request.Validate();
        var external = await GetExternalAddressAsync(ct);
        var op = request.Protocol == MappingProtocol.Tcp ? OpMapTcp : OpMapUdp;
        var response = await ExchangeAsync(BuildMap(op, request.InternalPort, request.ExternalPort, (uint)request.Lifetime.TotalSeconds), op, MapResponseLength,
            $"a {request.Protocol} mapping of port {request.InternalPort}", ct);
        var internalPort = BinaryPrimitives.ReadUInt16BigEndian(response.AsSpan(8));
        var mappedPort = BinaryPrimitives.ReadUInt16BigEndian(response.AsSpan(10));
        var lifetime = BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(12));
        if (internalPort != request.InternalPort)
            throw new PortMappingException($"The NAT-PMP gateway {_gateway} answered for internal port {internalPort}, not {request.InternalPort}; ignoring the answer. Forward the port by hand.");
        if (mappedPort == 0 || lifetime == 0)
            throw new PortMappingException($"The NAT-PMP gateway {_gateway} granted no mapping for port {request.InternalPort} (port {mappedPort}, lifetime {lifetime} s). Forward the port by hand.");
        return new MappedPort(MethodName, _gateway.ToString(), request.Protocol, LocalInterface.AddressFor(_gateway.Address), request.InternalPort, external, mappedPort, TimeSpan.FromSeconds(lifetime));
    }

    /// <summary>Deletes by asking for lifetime 0 and suggested external port 0 (RFC 6886 §3.4).</summary>
    public async Task UnmapAsync(MappedPort mapping, CancellationToken ct = default)
    {
        var op = mapping.Protocol == MappingProtocol.Tcp ? OpMapTcp : OpMapUdp;
        await ExchangeAsync(BuildMap(op, mapping.InternalPort, 0, 0), op, MapResponseLength, $"removal of the mapping of port {mapping.InternalPort}", ct);
    }

    /// <summary>A refused port means the router has no NAT-PMP; anything else means it could not be reached at all.</summary>
    private PortMappingException Unreachable(SocketException e, string what) => e.SocketErrorCode == SocketError.ConnectionRefused
        ? new PortMappingException($"The router {_gateway.Address} does not speak NAT-PMP (port {_gateway.Port} refused {what}). Enable NAT-PMP or UPnP on the router, or forward the port by hand.", e)
        : new PortMappingException($"Could not reach the NAT-PMP gateway {_gateway} for {what} ({e.SocketErrorCode}). Check the network connection, or forward the port by hand.", e);

    internal static byte[] BuildMap(byte op, int internalPort, int suggestedExternalPort, uint lifetimeSeconds)
    {
        var bytes = new byte[12];
        bytes[0] = Version;
        bytes[1] = op;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), (ushort)suggestedExternalPort);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), lifetimeSeconds);
        return bytes;
    }

    /// <summary>Sends <paramref name="request"/> with RFC 6886 retransmission until a matching answer arrives; answers from other hosts or with another opcode are dropped.</summary>
    private async Task<byte[]> ExchangeAsync(byte[] request, byte op, int responseLength, string what, CancellationToken ct)
    {
        using var socket = new Socket(_gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(_gateway); // a connected UDP socket only receives datagrams from the gateway (§3.1: ignore others)
        }
        catch (SocketException e)
        {
            throw new PortMappingException($"Could not reach the NAT-PMP gateway {_gateway} for {what} ({e.SocketErrorCode}): no route to it. Check the network connection, or forward the port by hand.", e);
        }
        var buffer = new byte[64];
        var wait = _timeouts.NatPmpInitialRetransmit;
        for (var attempt = 0; attempt < _timeouts.NatPmpAttempts; attempt++, wait *= 2)
        {
            try
            {
                await socket.SendAsync(request, SocketFlags.None, ct);
            }
            catch (SocketException e)
            {
                throw Unreachable(e, what);
            }
            using var timeout = new CancellationTokenSource(wait, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                while (true)
                {
                    int n;
                    try
                    {
                        n = await socket.ReceiveAsync(buffer, SocketFlags.None, linked.Token);
                    }
                    catch (SocketException e)
                    {
                        throw Unreachable(e, what);
                    }
                    if (n < 4 || buffer[0] != Version || buffer[1] != (byte)(ResponseBit | op)) continue;
                    var result = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2));
                    if (result != 0)
                        throw new PortMappingException(NatPmpErrors.Explain(_gateway, what, result)) { GatewayErrorCode = result };
                    if (n < responseLength)
                        throw new PortMappingException($"The NAT-PMP gateway {_gateway} answered {what} with {n} bytes, expected {responseLength}. Forward the port by hand.");
                    return buffer[..responseLength];
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // retransmit (§3.1)
            }
        }
        throw new PortMappingException(
            $"No NAT-PMP gateway answered {what} at {_gateway} within {_timeouts.NatPmpTotal.TotalSeconds:0.##} s ({_timeouts.NatPmpAttempts} attempts). " +
            "Enable NAT-PMP or UPnP on your router, or forward the port by hand.");
    }
}
