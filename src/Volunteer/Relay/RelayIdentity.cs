using Hivemind.Protocol.Identity;

namespace Hivemind.Volunteer.Relay;

/// <summary>The relay's proof of key: Ed25519 over <c>"hivemind/relay-identify/v1\0" || nonce</c> (relay.proto).</summary>
public static class RelayIdentity
{
    /// <summary>Nonce length the coordinator sends and a relay accepts.</summary>
    public const int NonceBytes = 32;

    /// <summary>Domain separation: an identify signature can never be taken for a join or an update signature.</summary>
    private static ReadOnlySpan<byte> Domain => "hivemind/relay-identify/v1\0"u8;

    public static byte[] Sign(VolunteerIdentity identity, ReadOnlySpan<byte> nonce) => identity.Sign(Message(nonce));

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> signature) =>
        nonce.Length == NonceBytes && VolunteerIdentity.Verify(publicKey, Message(nonce), signature);

    private static byte[] Message(ReadOnlySpan<byte> nonce)
    {
        var message = new byte[Domain.Length + nonce.Length];
        Domain.CopyTo(message);
        nonce.CopyTo(message.AsSpan(Domain.Length));
        return message;
    }
}
