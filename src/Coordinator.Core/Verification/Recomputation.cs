using Hivemind.Coordinator.Rounds;
using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Verification;

/// <summary>Re-runs a work unit on this process's trainer, as an honest volunteer would, and passes the result through the unit's codec.</summary>
public static class Recomputation
{
    /// <summary>
    /// The update an honest volunteer sends for <paramref name="unit"/> from <paramref name="start"/> (the shard's parameters at the
    /// unit's version), encoded and decoded with the unit's codec so that quantisation is not mistaken for cheating.
    /// </summary>
    /// <param name="text">The corpus a real-text unit's token slice comes from (the coordinator's --data); null for synthetic units.</param>
    public static ParameterSet Run(WorkUnit unit, ParameterSet start, CancellationToken ct = default, TokenCorpus? text = null) =>
        Run(unit, start, unit.Data.Kind == DataKind.TokenSlice ? SliceBytes(unit.Data, text) : null, ct);

    /// <summary>As the other overload, with a real-text unit's token slice given as its bytes (an evidence file keeps them); null for synthetic units.</summary>
    public static ParameterSet Run(WorkUnit unit, ParameterSet start, byte[]? slice, CancellationToken ct)
    {
        var result = LocalTrainer.Train(unit.Model, start, unit.Shard, Open(unit.Data, slice), unit.Training, null, ct);
        return ThroughCodec(result.PseudoGradient, unit.Codec);
    }

    /// <summary>The bytes of the token slice <paramref name="data"/> names, read from <paramref name="text"/> as a volunteer reads its verified copy.</summary>
    public static byte[] SliceBytes(DataSpec data, TokenCorpus? text)
    {
        if (text is null || !text.TryFind(data.FileSha256!, out var slice))
            throw new InvalidOperationException($"the unit trains on token slice {data.FileSha256}, which {(text is null ? "no corpus was given to recompute from" : $"the corpus {text.Folder} does not hold")}; recompute it where the coordinator's --data corpus is.");
        var bytes = new byte[slice.ByteLength];
        text.Read(slice, 0, bytes);
        return bytes;
    }

    /// <summary>The unit's batches: a synthetic slice, or the token slice's bytes.</summary>
    private static IBatchSource Open(DataSpec data, byte[]? slice)
    {
        if (data.Kind != DataKind.TokenSlice) return BatchSources.Open(data);
        if (slice is null) throw new InvalidOperationException($"the unit trains on token slice {data.FileSha256}, whose bytes were not given; read them with SliceBytes.");
        return new TokenSliceBatchSource(slice, data.TokenBytes, data.VocabSize, data.SliceSeed);
    }

    /// <summary>What the coordinator decodes when <paramref name="update"/> is sent with <paramref name="codec"/>.</summary>
    public static ParameterSet ThroughCodec(ParameterSet update, PayloadCodec codec)
    {
        byte[] bytes = TensorCodec.Encode(update, codec);
        return TensorCodec.Decode(bytes, bytes.LongLength).Tensors;
    }
}
