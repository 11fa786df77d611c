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
    public static ParameterSet Run(WorkUnit unit, ParameterSet start, CancellationToken ct = default)
    {
        var result = LocalTrainer.Train(unit.Model, start, unit.Shard, BatchSources.Open(unit.Data), unit.Training, null, ct);
        return ThroughCodec(result.PseudoGradient, unit.Codec);
    }

    /// <summary>What the coordinator decodes when <paramref name="update"/> is sent with <paramref name="codec"/>.</summary>
    public static ParameterSet ThroughCodec(ParameterSet update, PayloadCodec codec)
    {
        byte[] bytes = TensorCodec.Encode(update, codec);
        return TensorCodec.Decode(bytes, bytes.LongLength).Tensors;
    }
}
