using Google.Protobuf;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol.Ledger;

/// <summary>Maps <see cref="TreeHead"/> to and from ledger.proto's SignedTreeHead.</summary>
public static class TreeHeadWire
{
    public static SignedTreeHead ToWire(this TreeHead head) => new()
    {
        TreeSize = (ulong)head.TreeSize,
        RootHash = ByteString.CopyFrom(head.RootHash),
        TimestampUnixMs = head.TimestampUnixMs,
        Signature = ByteString.CopyFrom(head.Signature),
        PublicKey = ByteString.CopyFrom(head.PublicKey),
    };

    /// <summary>The head as received; sizes beyond a long become -1, which no signature verifies.</summary>
    public static TreeHead FromWire(this SignedTreeHead head) =>
        new(head.TreeSize > long.MaxValue ? -1 : (long)head.TreeSize, head.RootHash.ToByteArray(), head.TimestampUnixMs, head.Signature.ToByteArray(), head.PublicKey.ToByteArray());
}
