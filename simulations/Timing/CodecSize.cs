using Hivemind.Protocol.Tensors;

namespace Hivemind.Simulations.Timing;

/// <summary>Bytes on the wire for a number of elements under a codec: the real codec's own size function, so new codecs plug in here.</summary>
public static class CodecSize
{
    /// <summary>The wire codec a simulator codec name stands for.</summary>
    public static PayloadCodec Payload(TensorCodec codec) => codec switch
    {
        TensorCodec.Fp32 => PayloadCodec.Fp32,
        TensorCodec.Fp16 => PayloadCodec.Fp16,
        TensorCodec.Int8 => PayloadCodec.Int8Block,
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "no wire codec for this name; add it to CodecSize.Payload"),
    };

    /// <summary>Payload data bytes for <paramref name="elements"/> values (Hivemind.Protocol.Tensors.TensorCodec.DataBytes; int8 has its 256-value blocks).</summary>
    public static double Bytes(TensorCodec codec, long elements) => Hivemind.Protocol.Tensors.TensorCodec.DataBytes(elements, Payload(codec));
}
