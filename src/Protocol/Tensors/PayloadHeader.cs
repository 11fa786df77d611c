namespace Hivemind.Protocol.Tensors;

/// <summary>The front of a tensor payload: codec and tensor names and shapes, readable before any data arrives.</summary>
public sealed record PayloadHeader(PayloadCodec Codec, IReadOnlyList<TensorDescriptor> Tensors, int HeaderBytes, long DataBytes)
{
    public long TotalBytes => HeaderBytes + DataBytes;
}
