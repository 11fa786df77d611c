using Hivemind.Codec.Benchmarks;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The codec benchmark's <c>traffic</c> command (issue 16) measures what a real run moves: its payload counters agree with what the
/// volunteer clients report and with the codec's sizes, and the byte-counting relay sees at least those bytes each way.
/// </summary>
public sealed class TrafficCommandTests
{
    private const int Volunteers = 2;
    private const int Rounds = 3;
    private const int InnerSteps = 3;

    [Fact]
    public async Task ARealRunsCountersMatchTheClientsAndTheWireCarriesAtLeastThePayload()
    {
        TorchRuntime.EnsureLoaded();
        var r = await TrafficCommand.RunAsync(QualitySetting.Parse("int8/int8"), seed: 1, Rounds, Volunteers, InnerSteps, newcomerAt: 2, fromSeed: true)
            .WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Empty(r.Errors);
        Assert.Equal(Rounds * Volunteers, r.Units);
        Assert.Equal(r.Units * InnerSteps * 4 * 32, r.Tokens);
        // Down: the coordinator counted exactly what the clients received, first downloads included: θ_0 from the seed for the two
        // that started at version 0 (0 B), the steps since version 0 for the newcomer that replaced one of them at version 2.
        Assert.Equal(r.Downloads.Sum(v => v.Sum(d => d.Bytes)), r.PayloadDown);
        Assert.Equal(3, r.Downloads.Count);
        Assert.Equal(("download (θ_0 from the seed)", 0L), r.Downloads[0][0]);
        Assert.Equal(("download (θ_0 from the seed)", 0L), r.Downloads[1][0]);
        var model = ModelConfig.Preset("tiny");
        long step = TensorCodec.EncodedLength(ModelInit.Initialize(model, 1).Select(t => (t.Name, t.Shape)), PayloadCodec.Int8Block);
        Assert.Equal(("download (2 steps)", 2 * step), r.Downloads[2][0]);
        // Up: one int8 update of the whole shard per unit.
        Assert.Equal(r.Units * step, r.PayloadUp);
        Assert.InRange(r.WireUp, r.PayloadUp, r.PayloadUp * 2);
        Assert.InRange(r.WireDown, r.PayloadDown, r.PayloadDown * 2);
    }
}
