using Hivemind.Coordinator.Broadcast;
using Hivemind.Protocol.Tensors;

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
    /// After the outer step: re-defines <see cref="_global"/> as <paramref name="before"/> + decode(encoded step) (no-op when downloads
    /// are full). Returns the step to commit with the new version. Caller holds the lock.
    /// </summary>
    private StepBroadcast.Pending? EncodeStep(long round, ParameterSet before) => Broadcast?.Encode(round, before, _global);

    /// <summary>Publishes a committed version's step for small downloads. Caller holds the lock.</summary>
    private void CommitStep(StepBroadcast.Pending? step)
    {
        if (step is not null) Broadcast!.Commit(step);
    }

    /// <summary>
    /// The steps of a leased unit's shard from <paramref name="heldVersion"/> to the current version, each restricted to the shard's
    /// tensors byte for byte; null when they are not all kept (the caller sends the full shard).
    /// </summary>
    public IReadOnlyList<byte[]>? ShardSteps(string sessionToken, long version, string workUnitId, long heldVersion)
    {
        var shard = LeasedShard(sessionToken, version, workUnitId);
        var steps = Broadcast?.StepsBetween(heldVersion, version);
        if (steps is null) return null;
        return steps.Select(s => TensorCodec.Subset(s, shard.Holds, long.MaxValue)).ToList();
    }
}
