using System.Security.Cryptography;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests;

/// <summary>Every bad update gets its own reason and leaves the ledger, the leases and the round untouched.</summary>
public sealed class VerificationTests : IDisposable
{
    private readonly EngineHarness _h = new(o => o with { Quorum = 3 });

    public void Dispose() => _h.Dispose();

    private void AssertRejected(RejectReason expected, Func<long> submit)
    {
        var ledger = _h.Engine.Store.LedgerCount();
        var units = _h.Engine.Store.WorkUnits(_h.Engine.Round).Select(w => w.State).ToList();
        long round = _h.Engine.Round;
        var e = Assert.Throws<ProtocolException>(() => submit());
        Assert.Equal(expected, e.Reason);
        Assert.Contains("fix:", e.Message);
        Assert.Equal(ledger, _h.Engine.Store.LedgerCount());
        // A refusal of the payload's content ends that unit's lease (a retrain would repeat it; issue 15); nothing else changes state.
        var after = _h.Engine.Store.WorkUnits(_h.Engine.Round).Select(w => w.State).ToList();
        if (Hivemind.Coordinator.Rounds.CoordinatorEngine.EndsLease(expected))
            Assert.Equal(units.Select(s => s == "leased" ? "expired" : s), after); // these tests lease one unit at a time
        else
            Assert.Equal(units, after);
        Assert.Equal(round, _h.Engine.Round);
        Assert.Equal(1, _h.Engine.Store.Rejections()[expected.Token()]);
    }

    [Fact]
    public void BadSignatureIsRejected()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        var signature = (byte[])update.Envelope.Signature.Clone();
        signature[5] ^= 0x40;
        var forged = update with { Envelope = update.Envelope with { Signature = signature } };
        AssertRejected(RejectReason.BadSignature, () => v.Submit(forged));
    }

    [Fact]
    public void UnknownVolunteerIsRejected()
    {
        var v = _h.Join();
        var unit = v.Lease();
        using var stranger = VolunteerIdentity.Create();
        var update = WorkUnitRunner.Run(EngineHarness.ToSpec(unit), _h.Engine.ShardParameters(v.Session, unit.Version, unit.Id), stranger);
        AssertRejected(RejectReason.UnknownVolunteer, () => _h.Engine.Submit(_h.Submission(update)));
    }

    [Fact]
    public void BannedVolunteerIsRejected()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        _h.Engine.Store.Ban(v.Id, "test", 0, null, null);
        AssertRejected(RejectReason.Banned, () => v.Submit(update));
    }

    [Fact]
    public void UnitLeasedToAnotherVolunteerIsRejected()
    {
        var owner = _h.Join();
        var thief = _h.Join();
        var unit = owner.Lease();
        var update = WorkUnitRunner.Run(EngineHarness.ToSpec(unit), _h.Engine.ShardParameters(owner.Session, unit.Version, unit.Id), thief.Identity);
        AssertRejected(RejectReason.UnleasedWorkUnit, () => thief.Submit(update));
    }

    [Fact]
    public void ExpiredLeaseIsRejected()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var update = v.Train(unit);
        _h.Time.Advance(_h.Options.LeaseDuration + TimeSpan.FromSeconds(1));
        AssertRejected(RejectReason.ExpiredLease, () => v.Submit(update));
    }

    [Fact]
    public void ResendingTheSameUpdateIsIdempotentAndCostsNothing()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        long seq = v.Submit(update);
        for (int resend = 0; resend < 5; resend++) Assert.Equal(seq, v.Submit(update));
        Assert.Equal(1, _h.Engine.Store.LedgerCount());
        Assert.Equal(0, _h.Engine.Store.GetVolunteer(v.Id)!.Reputation);
        Assert.Empty(_h.Engine.Store.Rejections());
    }

    [Fact]
    public void DifferentSignedContentForAnAcceptedUnitIsEquivocation()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var update = v.Train(unit);
        v.Submit(update);
        var delta = Decode(update);
        var other = new ParameterSet(delta.Select(t => new NamedTensor(t.Name, t.Shape, t.Values.Select(x => x * 0.5f).ToArray())));
        AssertRejected(RejectReason.Equivocation, () => v.Submit(WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), other, v.Identity, update.MeanLoss, _h.Engine.ExpectedTokens)));
        Assert.Equal(1, _h.Engine.Store.EvidenceCount(v.Id));
        Assert.True(_h.Engine.Store.GetVolunteer(v.Id)!.Reputation < 0);
    }

    [Fact]
    public void UpdateFromAClosedRoundIsStale()
    {
        var volunteers = Enumerable.Range(0, 3).Select(_ => _h.Join()).ToList();
        var late = volunteers[2];
        var lateUnit = late.Lease();
        var lateUpdate = late.Train(lateUnit);
        foreach (var v in volunteers.Take(2)) v.Work();
        // The round closes at its deadline with the two updates it has; the late one is now from a past round.
        _h.Time.Advance(_h.Options.RoundTimeout + TimeSpan.FromSeconds(1));
        Assert.NotNull(_h.Engine.Tick());
        AssertRejected(RejectReason.StaleRound, () => late.Submit(lateUpdate));
    }

    [Fact]
    public void UpdateTrainedFromAnotherVersionIsStale()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var spec = EngineHarness.ToSpec(unit) with { Version = unit.Version + 5 };
        var update = WorkUnitRunner.Seal(spec, Decode(v.Train(unit)), v.Identity, 1.0, _h.Engine.ExpectedTokens);
        AssertRejected(RejectReason.StaleVersion, () => v.Submit(update));
    }

    [Fact]
    public void MissingTensorIsRefusedFromTheEnvelopeAlone()
    {
        // Without the tensor the declared length is not the shard's: refused before a payload byte would be read.
        var v = _h.Join();
        var unit = v.Lease();
        var delta = Decode(v.Train(unit));
        var partial = delta.Where(n => n != delta.Names.First());
        AssertRejected(RejectReason.MalformedEnvelope, () => v.Submit(WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), partial, v.Identity, 1.0, _h.Engine.ExpectedTokens)));
    }

    [Fact]
    public void RenamedTensorIsWrongNames()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var delta = Decode(v.Train(unit));
        // Same length as the real name, so the payload has exactly the expected size and the header check is what refuses it.
        var first = delta.First();
        var partial = delta.Where(n => n != first.Name);
        partial.Add(new NamedTensor(first.Name[..^1] + (first.Name[^1] == 'x' ? 'y' : 'x'), first.Shape, first.Values));
        AssertRejected(RejectReason.WrongTensorNames, () => v.Submit(WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), partial, v.Identity, 1.0, _h.Engine.ExpectedTokens)));
    }

    [Fact]
    public void WrongShapeIsRejected()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var delta = Decode(v.Train(unit));
        var first = delta.First(t => t.Shape.Length == 2 && t.Shape[0] != t.Shape[1]);
        var reshaped = delta.Where(n => n != first.Name);
        // The same dimensions in another order: same payload length, wrong shape.
        reshaped.Add(new NamedTensor(first.Name, first.Shape.Reverse().ToArray(), first.Values));
        AssertRejected(RejectReason.WrongShape, () => v.Submit(WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), reshaped, v.Identity, 1.0, _h.Engine.ExpectedTokens)));
    }

    [Fact]
    public void NonFiniteValuesAreRejected()
    {
        var v = _h.Join();
        var unit = v.Lease();
        AssertRejected(RejectReason.NonFinite, () => v.Submit(v.Train(unit, Behavior.Nan)));
    }

    [Fact]
    public void HugeNormIsRejected()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var delta = Decode(v.Train(unit));
        // 100 in every coordinate: finite in fp16, norm far above the default bound of 1e3.
        var boosted = new ParameterSet(delta.Select(t => new NamedTensor(t.Name, t.Shape, Enumerable.Repeat(100f, t.Values.Length).ToArray())));
        AssertRejected(RejectReason.NormTooLarge, () => v.Submit(WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), boosted, v.Identity, 1.0, _h.Engine.ExpectedTokens)));
    }

    [Fact]
    public void TruncatedPayloadIsRejected()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        AssertRejected(RejectReason.TruncatedStream, () => _h.Engine.Submit(_h.Submission(update, v.Id, update.Payload[..^7])));
    }

    [Fact]
    public void TamperedPayloadIsAHashMismatch()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        var tampered = (byte[])update.Payload.Clone();
        tampered[^1] ^= 1;
        AssertRejected(RejectReason.HashMismatch, () => _h.Engine.Submit(_h.Submission(update, v.Id, tampered)));
    }

    [Fact]
    public void GarbageEnvelopeIsMalformed()
    {
        var v = _h.Join();
        var update = v.Train(v.Lease());
        var garbage = update with { Envelope = update.Envelope with { Bytes = RandomNumberGenerator.GetBytes(40) } };
        AssertRejected(RejectReason.MalformedEnvelope, () => v.Submit(garbage));
    }

    [Fact]
    public void EnvelopeOfAnotherKeyThanTheSessionIsAMismatch()
    {
        var a = _h.Join();
        var b = _h.Join();
        var update = a.Train(a.Lease());
        AssertRejected(RejectReason.VolunteerMismatch, () => _h.Engine.Submit(_h.Submission(update, b.Id)));
    }

    [Fact]
    public void AcceptedUpdateIsInTheLedgerWithItsPayloadOnDisk()
    {
        var v = _h.Join();
        long seq = v.Work();
        var row = Assert.Single(_h.Engine.Store.Updates(0));
        Assert.Equal(seq, row.Sequence);
        Assert.False(Path.IsPathRooted(row.PayloadPath)); // relative to the data directory, so the directory can move
        Assert.True(File.Exists(_h.Engine.PayloadFile(row)));
        Assert.Equal(row.PayloadBytes, new FileInfo(_h.Engine.PayloadFile(row)).Length);
    }

    private static ParameterSet Decode(TrainedUpdate u) => TensorCodec.Decode(u.Payload, u.Payload.LongLength).Tensors;
}
