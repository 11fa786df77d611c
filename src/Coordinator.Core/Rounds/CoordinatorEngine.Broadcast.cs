using Hivemind.Coordinator.Broadcast;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Small downloads (issue 16): the round close's one hook that defines each new version as the previous plus an encoded step.</summary>
public sealed partial class CoordinatorEngine
{
    private StepBroadcast? _broadcast;

    private StepBroadcast? Broadcast => _broadcast ??= _options.DownloadCodec == "full" ? null
        : new StepBroadcast(WorkUnitFactory.ParseCodec(_options.DownloadCodec, _options.DownloadDensity), _options.MaxDownloadSteps);

    /// <summary>The step codec of small downloads, or null when every download is the full shard.</summary>
    public CodecSettings? StepCodec => Broadcast?.Codec;

    /// <summary>
    /// After the outer step: re-defines <paramref name="after"/> (the round decision's next parameters, not yet committed) as
    /// <paramref name="before"/> + decode(encoded step) (no-op when downloads are full). Returns the step to commit with the new
    /// version. Caller holds the lock.
    /// </summary>
    private StepBroadcast.Pending? EncodeStep(long round, ParameterSet before, ParameterSet after) => Broadcast?.Encode(round, before, after);

    /// <summary>Publishes a committed version's step for small downloads. Caller holds the lock.</summary>
    private void CommitStep(StepBroadcast.Pending? step)
    {
        if (step is not null) Broadcast!.Commit(step);
    }

    /// <summary>
    /// A small download for a leased unit: the steps from <paramref name="heldVersion"/> to the current version restricted byte for byte
    /// to the shard's tensors the volunteer holds (trunk plus <paramref name="heldExperts"/>), then one fp32 payload of the shard's other
    /// tensors (null when there are none). Null when a step is no longer kept (the caller sends the full shard).
    /// </summary>
    public (IReadOnlyList<byte[]> Steps, byte[]? NotHeld)? ShardSteps(string sessionToken, long version, string workUnitId, long heldVersion, ShardSpec heldExperts)
    {
        var shard = LeasedShard(sessionToken, version, workUnitId);
        var steps = Broadcast?.StepsBetween(heldVersion, version);
        if (steps is null) return null;
        bool Held(string name) => shard.Holds(name) && heldExperts.Holds(name);
        List<byte[]> subsets;
        try
        {
            subsets = steps.Select(s => TensorCodec.Subset(s.Bytes, Held, long.MaxValue)).ToList();
        }
        finally
        {
            foreach (var step in steps) step.Dispose();
        }
        ParameterSet rest;
        lock (_gate) rest = Shards.Extract(_global, shard).Where(n => !heldExperts.Holds(n));
        return (subsets, rest.Count == 0 ? null : TensorCodec.Encode(rest, PayloadCodec.Fp32));
    }
}
