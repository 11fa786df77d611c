namespace Hivemind.Protocol.Tensors;

/// <summary>The front of a tensor payload: codec and tensor names and shapes, readable before any data arrives.</summary>
public sealed record PayloadHeader(PayloadCodec Codec, IReadOnlyList<TensorDescriptor> Tensors, int HeaderBytes, long DataBytes)
{
    public long TotalBytes => HeaderBytes + DataBytes;

    /// <summary>Values kept per block by a sparse codec (the header's codec parameter); 0 for dense codecs.</summary>
    public int KeptPerBlock { get; init; }

    /// <summary>Codec and its parameter together.</summary>
    public CodecSettings Settings => new(Codec, KeptPerBlock);
}
