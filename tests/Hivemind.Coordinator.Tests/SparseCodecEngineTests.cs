using System.Security.Cryptography;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests;

/// <summary>The engine with top-k updates and step downloads (issue 16): exact sizes before reading, hostile payloads, steps for part of a shard.</summary>
public sealed class SparseCodecEngineTests : IDisposable
{
    private readonly EngineHarness _h = new(o => o with { Codec = "topk4", CodecDensity = 0.02, DownloadCodec = "topk4", DownloadDensity = 0.03 });

    public void Dispose() => _h.Dispose();

    /// <summary>Signs an envelope for arbitrary payload bytes, as a misbehaving volunteer could.</summary>
    private TrainedUpdate Signed(EngineHarness.Volunteer v, WorkUnit unit, byte[] payload, PayloadCodec codec)
    {
        long tokens = _h.Engine.ExpectedTokens;
        var envelope = new UpdateEnvelope(ProtocolVersion.Current, v.Identity.PublicKey, unit.Id, (ulong)unit.Round, (ulong)unit.Version,
            unit.Shard.Experts.Select(e => new ExpertKey(e.Layer, e.Expert)).ToList(), true, codec, (ulong)payload.Length, SHA256.HashData(payload),
            (ulong)tokens, 3.0, _h.Engine.RunId);
        return new TrainedUpdate(EnvelopeSigner.Sign(v.Identity, envelope), payload, 3.0, tokens);
    }

    [Fact]
    public void AHonestSparseUpdateIsAcceptedAndCarriesTheUnitsKeptCount()
    {
        var v = _h.Join();
        var unit = v.Lease();
        Assert.Equal(PayloadCodec.TopK4, unit.Codec);
        Assert.Equal(5, unit.KeptPerBlock); // 2% of 256, rounded
        long seq = v.Submit(v.Train(unit));
        Assert.True(seq > 0);
    }

    [Fact]
    public void AnotherKeptCountIsRefusedBeforeThePayloadIsRead()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var update = v.Train(unit);
        var decoded = TensorCodec.Decode(update.Payload, update.Payload.LongLength).Tensors;
        byte[] denser = TensorCodec.Encode(decoded, new CodecSettings(PayloadCodec.TopK4, 6));
        var e = Assert.Throws<ProtocolException>(() => v.Submit(Signed(v, unit, denser, PayloadCodec.TopK4)));
        Assert.Equal(RejectReason.Oversized, e.Reason);
        Assert.Contains("exactly", e.Message);
        Assert.Equal(0, _h.Engine.Store.LedgerCount());
    }

    [Theory]
    [InlineData("unsorted")]
    [InlineData("duplicate")]
    [InlineData("nan-scale")]
    public void AMalformedSparsePayloadOfTheRightLengthIsRejectedWithItsReason(string damage)
    {
        var v = _h.Join();
        var unit = v.Lease();
        byte[] payload = (byte[])v.Train(unit).Payload.Clone();
        // The first tensor's data starts right after the header; its first block keeps 5 positions, then an f16 scale.
        var header = TensorCodec.ReadHeader(new MemoryStream(payload), payload.LongLength);
        int data = header.HeaderBytes;
        var first = header.Tensors[0];
        Assert.True(first.ElementCount >= 256, "the first tensor needs a full block for this test");
        switch (damage)
        {
            case "unsorted":
                (payload[data], payload[data + 1]) = (payload[data + 1], payload[data]);
                break;
            case "duplicate":
                payload[data + 1] = payload[data];
                break;
            default:
                System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(payload.AsSpan(data + 5), Half.NaN);
                break;
        }
        var e = Assert.Throws<ProtocolException>(() => v.Submit(Signed(v, unit, payload, PayloadCodec.TopK4)));
        // Attributable (costs reputation), like a bad int8 scale; the message says which block and what is wrong.
        Assert.Equal(RejectReason.MalformedPayload, e.Reason);
        Assert.Contains("block 0", e.Message);
        Assert.Contains(damage == "nan-scale" ? "scale NaN" : "strictly increasing", e.Message);
        Assert.Equal(0, _h.Engine.Store.LedgerCount());
    }

    [Fact]
    public void StepsForTheHeldTensorsPlusTheOthersInFullGiveTheCoordinatorsShardBitForBit()
    {
        var volunteers = Enumerable.Range(0, 4).Select(_ => _h.Join()).ToList();
        var atVersion0 = _h.Engine.GlobalParameters();
        for (int round = 0; round < 3; round++)
        {
            foreach (var v in volunteers) v.Work();
            Assert.NotNull(_h.Engine.Tick());
        }
        var me = volunteers[0];
        var unit = me.Lease();
        Assert.Equal(3, unit.Version);
        Assert.NotEmpty(unit.Shard.Experts);
        // This volunteer held version 0 of its shard except its first expert.
        var heldShard = new ShardSpec([.. unit.Shard.Experts.Skip(1)]);
        var found = _h.Engine.ShardSteps(me.Session, unit.Version, unit.Id, 0, heldShard);
        Assert.NotNull(found);
        var (steps, notHeld) = found.Value;
        Assert.Equal(3, steps.Count);
        var parameters = new ParameterSet(atVersion0.Where(t => unit.Shard.Holds(t.Name) && heldShard.Holds(t.Name)).Select(t => t.Clone()));
        ParameterSteps.ApplyAll(parameters, [.. steps.SelectMany(s => s)], steps.Count, long.MaxValue);
        Assert.NotNull(notHeld);
        var others = TensorCodec.Decode(notHeld, notHeld.LongLength).Tensors;
        Assert.All(others, t => Assert.False(heldShard.Holds(t.Name)));
        foreach (var t in others) parameters.Add(t);
        var expected = _h.Engine.ShardParameters(me.Session, unit.Version, unit.Id);
        Assert.Equal(SHA256.HashData(TensorCodec.Encode(expected, PayloadCodec.Fp32)), SHA256.HashData(TensorCodec.Encode(parameters, PayloadCodec.Fp32)));
        // A version no longer connected by kept steps (the future) gets no small download.
        Assert.Null(_h.Engine.ShardSteps(me.Session, unit.Version, unit.Id, unit.Version, heldShard));
    }
}
