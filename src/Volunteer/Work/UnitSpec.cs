using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Volunteer.Work;

/// <summary>Everything needed to train one work unit, independent of how it arrived (gRPC, or in-process in tests and the simulator).</summary>
public sealed record UnitSpec(
    string Id,
    long Round,
    long Version,
    ModelConfig Model,
    ShardSpec Shard,
    DataSpec Data,
    LocalTrainingOptions Training,
    PayloadCodec Codec)
{
    /// <summary>The coordinator run the unit belongs to (16 bytes, from WorkUnit.run_id); signed into the update envelope.</summary>
    public byte[] RunId { get; init; } = [];

    /// <summary>Values kept per block when <see cref="Codec"/> is a top-k codec (the work unit's kept_per_block); 0 otherwise.</summary>
    public int KeptPerBlock { get; init; }

    /// <summary>Eager units only (issue 16): this volunteer's own accepted unit whose update the unit starts from (<see cref="EagerBase"/>).</summary>
    public string? BaseUnitId { get; init; }

    /// <summary>The update codec with its parameter.</summary>
    public CodecSettings CodecSettings => new(Codec, KeptPerBlock);
}
