using Google.Protobuf;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;

namespace Hivemind.Protocol;

/// <summary>Converts between generated proto messages and the protocol library's types.</summary>
public static class ProtoMapping
{
    public static Codec ToProto(this PayloadCodec codec) => (Codec)(int)codec;

    /// <summary>The payload codec a proto codec names; throws for <c>CODEC_UNSPECIFIED</c> or unknown values.</summary>
    public static PayloadCodec FromProto(Codec codec)
    {
        var value = (PayloadCodec)(int)codec;
        return (int)codec is > 0 and <= byte.MaxValue && Enum.IsDefined(value)
            ? value
            : throw new ArgumentException($"codec {codec} ({(int)codec}) is not one of {string.Join(", ", Enum.GetNames<PayloadCodec>())}.", nameof(codec));
    }

    public static ExpertRef ToProto(this ExpertKey key) => new() { Layer = (uint)key.Layer, Expert = (uint)key.Expert };

    public static ExpertKey FromProto(ExpertRef expert)
    {
        ArgumentNullException.ThrowIfNull(expert);
        if (expert.Layer > int.MaxValue || expert.Expert > int.MaxValue)
            throw new ArgumentException($"expert {expert.Layer}/{expert.Expert} is out of range.", nameof(expert));
        return new ExpertKey((int)expert.Layer, (int)expert.Expert);
    }

    public static Shard ToProto(IEnumerable<ExpertKey> experts, bool includesTrunk)
    {
        var shard = new Shard { IncludesTrunk = includesTrunk };
        shard.Experts.AddRange(experts.Order().Select(ToProto));
        return shard;
    }

    /// <summary>First message of a parameter download, describing <paramref name="header"/>'s payload.</summary>
    public static ParameterMetadata ToMetadata(PayloadHeader header, ulong modelVersion, ReadOnlySpan<byte> contentSha256)
    {
        ArgumentNullException.ThrowIfNull(header);
        var metadata = new ParameterMetadata
        {
            ModelVersion = modelVersion,
            ContentSha256 = ByteString.CopyFrom(contentSha256),
            TotalBytes = (ulong)header.TotalBytes,
            Codec = header.Codec.ToProto(),
        };
        foreach (var t in header.Tensors)
        {
            var info = new V1.TensorInfo { Name = t.Name };
            info.Shape.AddRange(t.Shape);
            metadata.Tensors.Add(info);
        }
        return metadata;
    }
}
