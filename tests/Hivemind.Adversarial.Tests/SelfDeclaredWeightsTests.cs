using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Protocol.Errors;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 1: an update's weight is the unit's token count, never the volunteer's claim; a non-finite mean loss is refused with a reason.</summary>
public sealed class SelfDeclaredWeightsTests
{
    [Theory]
    [InlineData(long.MaxValue, 3.0, RejectReason.WrongTokenCount)]
    [InlineData(1L, 3.0, RejectReason.WrongTokenCount)]
    [InlineData(-1L, double.NaN, RejectReason.NonFinite)]
    [InlineData(-1L, double.PositiveInfinity, RejectReason.NonFinite)]
    public async Task AClaimedWeightOrANonFiniteLossIsRefusedAndChangesNothing(long tokens, double meanLoss, RejectReason expected)
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            var before = Snapshot.Of(c.Engine);
            var signed = Attacker.Sign(key, unit, honest.Payload, tokens < 0 ? null : (ulong)tokens, meanLoss);
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, signed, [honest.Payload]));
            Assert.Equal(expected, Attacker.ReasonOf(e));
            Assert.Equal(before, Snapshot.Of(c.Engine)); // no ledger row, no model change, no orphan payload file
            Assert.Equal(1, c.Engine.Store.Rejections()[expected.Token()]);
            await attacker.HonestUnitAsync();
        }
    }
}
