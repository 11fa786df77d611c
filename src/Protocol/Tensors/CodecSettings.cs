namespace Hivemind.Protocol.Tensors;

/// <summary>
/// A codec plus its one parameter: for the sparse codecs the values kept per block (k of <see cref="SparseBlockCodec.BlockSize"/>),
/// 0 for the dense ones. Sizes are a function of the settings and the shapes alone, so a receiver knows the exact length in advance.
/// </summary>
public readonly record struct CodecSettings
{
    public CodecSettings(PayloadCodec codec, int keptPerBlock = 0)
    {
        if (IsSparse(codec))
        {
            if (keptPerBlock is < 1 or > SparseBlockCodec.MaxKeptPerBlock)
                throw new ArgumentOutOfRangeException(nameof(keptPerBlock), keptPerBlock,
                    $"codec {codec} keeps 1..{SparseBlockCodec.MaxKeptPerBlock} values per block of {SparseBlockCodec.BlockSize} (e.g. 5 keeps 1.95%).");
        }
        else if (keptPerBlock != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keptPerBlock), keptPerBlock, $"codec {codec} is dense and takes no kept-per-block count; pass 0.");
        }
        Codec = codec;
        KeptPerBlock = keptPerBlock;
    }

    public PayloadCodec Codec { get; }

    /// <summary>Values kept per block by a sparse codec; 0 for a dense one.</summary>
    public int KeptPerBlock { get; }

    public bool Sparse => IsSparse(Codec);

    /// <summary>Bits per kept value of a sparse codec.</summary>
    public int Bits => Codec switch
    {
        PayloadCodec.TopK4 => 4,
        PayloadCodec.TopK2 => 2,
        _ => 0,
    };

    /// <summary>Fraction of values a sparse codec keeps (1 for dense codecs).</summary>
    public double Density => Sparse ? (double)KeptPerBlock / SparseBlockCodec.BlockSize : 1.0;

    public static bool IsSparse(PayloadCodec codec) => codec is PayloadCodec.TopK4 or PayloadCodec.TopK2;

    /// <summary>
    /// Whether an update in this codec keeps an error-feedback residual: top-k only. Not int8: a spot check rebuilds an update from
    /// its unit alone, so int8(update + residual) would flag an honest volunteer (and int8 without feedback measured lossless,
    /// docs/benchmarks/codecs.md, session 6); not fp32 (exact) nor fp16 (2^-11 relative). Top-k is refused while checks are on.
    /// </summary>
    public bool UsesFeedback => Sparse;

    /// <summary>
    /// Whether versions may be broadcast as steps in this codec (small downloads): any lossy codec. An fp32 step is as large as the
    /// full shard, so fp32 is the full download instead.
    /// </summary>
    public static bool IsStepCodec(PayloadCodec codec) => codec is not PayloadCodec.Fp32;

    /// <summary>Sparse settings keeping about <paramref name="density"/> of the values (rounded to whole values per block, at least one).</summary>
    public static CodecSettings FromDensity(PayloadCodec codec, double density)
    {
        if (!IsSparse(codec)) throw new ArgumentException($"codec {codec} is dense; a density applies only to TopK4 and TopK2.", nameof(codec));
        if (!double.IsFinite(density) || density <= 0 || density > (double)SparseBlockCodec.MaxKeptPerBlock / SparseBlockCodec.BlockSize)
            throw new ArgumentOutOfRangeException(nameof(density), density,
                $"density must be in (0, {(double)SparseBlockCodec.MaxKeptPerBlock / SparseBlockCodec.BlockSize}] (e.g. 0.02 for 2%).");
        return new CodecSettings(codec, Math.Max(1, (int)Math.Round(density * SparseBlockCodec.BlockSize)));
    }

    public static implicit operator CodecSettings(PayloadCodec codec) => new(codec);

    public override string ToString() => Sparse ? $"{Codec}(k={KeptPerBlock}/{SparseBlockCodec.BlockSize})" : Codec.ToString();
}
