using System.Security.Cryptography;
using Hivemind.Coordinator.Broadcast;
using Hivemind.Coordinator.Verification;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests;

/// <summary>int8 updates (no error feedback: spot checks must rebuild them) and int8 step downloads through the engine (issue 16, session 6).</summary>
public sealed class DenseStepEngineTests : IDisposable
{
    private readonly EngineHarness _h = new(o => o with { Codec = "int8", DownloadCodec = "int8" });

    public void Dispose() => _h.Dispose();

    [Fact]
    public void Int8StepsGiveTheCoordinatorsShardBitForBit()
    {
        var volunteers = Enumerable.Range(0, 4).Select(_ => _h.Join()).ToList();
        var atVersion0 = _h.Engine.GlobalParameters();
        for (int round = 0; round < 2; round++)
        {
            foreach (var v in volunteers) v.Work();
            Assert.NotNull(_h.Engine.Tick());
        }
        var me = volunteers[0];
        var unit = me.Lease();
        Assert.Equal(PayloadCodec.Int8Block, _h.Engine.StepCodec?.Codec);
        var found = _h.Engine.ShardSteps(me.Session, unit.Version, unit.Id, 0, unit.Shard);
        Assert.NotNull(found);
        var (steps, notHeld) = found.Value;
        Assert.Equal(2, steps.Count);
        Assert.Null(notHeld);
        var parameters = new ParameterSet(atVersion0.Where(t => unit.Shard.Holds(t.Name)).Select(t => t.Clone()));
        ParameterSteps.ApplyAll(parameters, [.. steps.SelectMany(s => s)], steps.Count, long.MaxValue);
        var expected = _h.Engine.ShardParameters(me.Session, unit.Version, unit.Id);
        Assert.Equal(SHA256.HashData(TensorCodec.Encode(expected, PayloadCodec.Fp32)), SHA256.HashData(TensorCodec.Encode(parameters, PayloadCodec.Fp32)));
        // And the steps are int8: about a quarter of the shard in fp32 each.
        long full = TensorCodec.EncodedLength(expected, PayloadCodec.Fp32);
        Assert.All(steps, s => Assert.InRange(s.LongLength, full / 5, full / 3));
    }

    [Fact]
    public async Task AnHonestInt8VolunteersLaterUpdatesPassTheirSpotChecks()
    {
        // Spot checks are on by default and recompute an update from its unit alone. A volunteer that added its error-feedback
        // residual to an int8 update would send int8(update + residual), which no recomputation can rebuild: its second update
        // would be flagged and the honest key banned. So int8 keeps no residual (only the sparse codecs do, and those are refused
        // while checks are on); this test fails if int8 feedback comes back.
        using var h = new EngineHarness(o => o with { Codec = "int8", Quorum = 8, SpotCheckProbability = 1, SpotCheckProbationProbability = 1 });
        var waiter = new SpotCheckWaiter(h.Engine);
        var v = h.Join();
        ErrorFeedback? feedback = null;
        for (int i = 0; i < 3; i++)
        {
            var unit = v.Lease();
            var spec = EngineHarness.ToSpec(unit);
            // What VolunteerClient does: one residual per volunteer, kept across units when the codec uses feedback.
            if (spec.CodecSettings.UsesFeedback) feedback ??= new ErrorFeedback();
            var trained = WorkUnitRunner.Run(spec, h.Engine.ShardParameters(v.Session, unit.Version, unit.Id), v.Identity, feedback: feedback);
            Assert.Equal(PayloadCodec.Int8Block, TensorCodec.Decode(trained.Payload, trained.Payload.LongLength).Codec);
            Assert.True(v.Submit(trained) > 0);
        }
        await waiter.WaitForCountAsync(3, CheckTimeout);
        Assert.All(waiter.Outcomes, o => Assert.Equal(SpotCheckVerdict.Passed, o.Verdict));
        Assert.False(h.Engine.Store.GetVolunteer(v.Id)!.Banned);
    }

    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void AnFp32StepCodecIsRefusedWithTheFix()
    {
        var e = Assert.Throws<ArgumentException>(() => new StepBroadcast(PayloadCodec.Fp32, 4));
        Assert.Contains("full downloads", e.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => (EngineHarness.TinyOptions("unused") with { DownloadCodec = "fp32" }).Validate());
        Assert.Contains("'fp32'", bad.Message, StringComparison.Ordinal);
        Assert.Contains("int8", bad.Message, StringComparison.Ordinal);
        (EngineHarness.TinyOptions("unused") with { DownloadCodec = "int8" }).Validate();
        (EngineHarness.TinyOptions("unused") with { DownloadCodec = "fp16" }).Validate();
    }
}
