namespace Hivemind.Protocol.Tensors;

/// <summary>A decoded payload: its header and the tensors as float32.</summary>
public sealed record TensorPayload(PayloadHeader Header, ParameterSet Tensors)
{
    public PayloadCodec Codec => Header.Codec;
}
