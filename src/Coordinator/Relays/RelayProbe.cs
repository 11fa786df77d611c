using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Relay;

namespace Hivemind.Coordinator.Relays;

/// <summary>Asks the relay at an address which key runs it (Relay/Identify with a fresh nonce) and checks the signature.</summary>
public sealed class RelayProbe
{
    /// <summary>How long the relay has to answer; it signs 32 bytes, so a slow answer means a wrong or overloaded address.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The key that signed a fresh nonce at <paramref name="endpoint"/>, or why there is none (it is not a relay, or lied).</summary>
    public async Task<(byte[]? PublicKey, string Why)> IdentifyAsync(IPEndPoint endpoint, CancellationToken ct)
    {
        byte[] nonce = RandomNumberGenerator.GetBytes(RelayIdentity.NonceBytes);
        using var channel = GrpcChannel.ForAddress("http://" + RelayAddressPolicy.Format(endpoint), new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = Timeout },
            MaxReceiveMessageSize = 64 << 10,
        });
        try
        {
            var reply = await new Protocol.V1.Relay.RelayClient(channel).IdentifyAsync(
                new RelayIdentifyRequest { ProtocolVersion = ProtocolVersion.Current, Nonce = ByteString.CopyFrom(nonce) },
                deadline: DateTime.UtcNow + Timeout, cancellationToken: ct);
            var key = reply.PublicKey.ToByteArray();
            return RelayIdentity.Verify(key, nonce, reply.Signature.Span)
                ? (key, "")
                : (null, $"{endpoint} answered Identify with a signature that does not verify");
        }
        catch (RpcException e)
        {
            return (null, $"{endpoint} did not answer as a Hivemind relay ({e.StatusCode})");
        }
    }
}
