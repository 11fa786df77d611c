using Hivemind.Protocol.Tensors;

namespace Hivemind.Simulations.Timing;

/// <summary>Bytes on the wire for a number of elements under a codec: the real codec's own size function, so new codecs plug in here.</summary>
public static class CodecSize
{
    /// <summary>
    /// fp32 bytes ÷ bytes sent for a full download in CODEC_FP32_SHUFFLE_ZSTD (lossless byte-plane shuffle + zstd, issue 16), which
    /// every volunteer asks for. Measured by `Hivemind.Codec.Benchmarks throughput --parameters` on the 'small' preset's trained
    /// checkpoint (synthetic corpus, version 20); θ_0 and the 'tiny' presets gave 1.16–1.23 (docs/benchmarks/codecs.md, Session 8).
    /// </summary>
    public const double FullDownloadRatio = 1.18;

    /// <summary>The wire codec a simulator codec name stands for.</summary>
    public static PayloadCodec Payload(TensorCodec codec) => codec switch
    {
        TensorCodec.Fp32 => PayloadCodec.Fp32,
        TensorCodec.Fp16 => PayloadCodec.Fp16,
        TensorCodec.Int8 => PayloadCodec.Int8Block,
        TensorCodec.Topk4 => PayloadCodec.TopK4,
        TensorCodec.Topk2 => PayloadCodec.TopK2,
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "no wire codec for this name; add it to CodecSize.Payload"),
    };

    /// <summary>Whether the codec is a top-k one (its size depends on the density; as a download codec it sends steps).</summary>
    public static bool IsSparse(TensorCodec codec) => CodecSettings.IsSparse(Payload(codec));

    /// <summary>The wire settings: the codec, and for a top-k codec the values kept per block at <paramref name="density"/> (as the coordinator rounds it).</summary>
    public static CodecSettings Settings(TensorCodec codec, double density) =>
        IsSparse(codec) ? CodecSettings.FromDensity(Payload(codec), density) : Payload(codec);

    /// <summary>
    /// Payload data bytes for <paramref name="elements"/> values (Hivemind.Protocol.Tensors.TensorCodec.DataBytes: int8 has its 256-value
    /// blocks, top-k its kept positions, codes and scale per block at <paramref name="density"/>, which dense codecs ignore).
    /// </summary>
    public static double Bytes(TensorCodec codec, long elements, double density = 0) =>
        Hivemind.Protocol.Tensors.TensorCodec.DataBytes(elements, Settings(codec, density));
}
