using System.Security.Cryptography;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Errors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>The snapshot behind the dashboard against the store it reads: rounds, credit, rejections, activity.</summary>
public sealed class DashboardReadModelTests
{
    [Fact]
    public async Task SnapshotMatchesTheLedgerAndTheEvents()
    {
        await using var d = await DashboardHarness.StartAsync(volunteers: 2);
        var replayer = d.Volunteers[0];
        await d.RunRoundAsync((v, update) =>
        {
            // Different signed content for an accepted unit is an equivocation: rejected and counted against its volunteer.
            if (v == replayer) Assert.Equal(RejectReason.Equivocation, DashboardHarness.Equivocate(v, update).Reason);
        });
        await d.RunRoundAsync();

        var s = d.Snapshots.Refresh();
        Assert.Equal(2, s.Status.Round);
        Assert.Equal([0L, 1, 2], s.Rounds.Select(r => r.Round));
        Assert.All(s.Rounds.Take(2), r => Assert.NotNull(r.EvalLoss));
        Assert.All(s.Rounds.Take(2), r => Assert.Equal(2, r.Updates));
        Assert.All(s.Rounds.Take(2), r => Assert.NotNull(r.AggregationSeconds));
        Assert.Null(s.Rounds[2].ClosedAt);
        Assert.Equal(d.Engine.LastEvalLoss, s.Status.LastEvalLoss);
        Assert.Equal(d.Engine.OptimalLoss, s.Status.OptimalLoss);

        var ledger = d.LedgerCounts();
        Assert.Equal(ledger.Count, s.Volunteers.Count);
        foreach (var v in s.Volunteers)
        {
            Assert.Equal(ledger[v.Id], v.Accepted);
            Assert.Equal(ledger[v.Id] * d.TokensPerUnit, v.Credit);
            Assert.Equal(d.Engine.Store.GetVolunteer(v.Id)!.Reputation, v.Reputation);
            Assert.True(v.Active);
        }
        var replayed = s.Volunteers.Single(v => v.Id == replayer.Id);
        Assert.Equal(1, replayed.Rejected);
        Assert.Equal(1, replayed.RejectionsByReason["equivocation"]);
        Assert.Equal(0, s.Volunteers.Single(v => v.Id != replayer.Id).Rejected);
        Assert.Equal(1, s.RejectionsByRound[0]["equivocation"]);
        Assert.Equal(1, s.Rounds[0].Rejections);
        Assert.Equal(d.Engine.Store.Rejections(), s.Status.RejectionsByReason);
        Assert.Equal(d.Engine.Store.LedgerCount(), s.Status.AcceptedUpdates);
        Assert.Equal(d.Engine.Store.PayloadBytesTotal(), s.Status.AcceptedPayloadBytes);
    }

    [Fact]
    public async Task CreditIsTheCoordinatorsTokenCountNotTheVolunteersClaim()
    {
        await using var d = await DashboardHarness.StartAsync(volunteers: 1);
        var v = d.Volunteers[0];
        var unit = v.Lease();
        var honest = v.Train(unit);
        // The envelope's token count is the volunteer's word; a signed, otherwise valid update claims a billion times more.
        // The engine refuses it (wrong-token-count), and the honest update that follows earns the coordinator's count.
        const ulong claimed = 1_000_000_000_000;
        var spec = EngineHarness.ToSpec(unit);
        var envelope = new UpdateEnvelope(
            ProtocolVersion.Current, v.Identity.PublicKey, spec.Id, (ulong)spec.Round, (ulong)spec.Version,
            spec.Shard.Experts.Select(e => new ExpertKey(e.Layer, e.Expert)).ToList(), true, spec.Codec,
            (ulong)honest.Payload.Length, SHA256.HashData(honest.Payload), claimed, honest.MeanLoss, spec.RunId);
        var inflated = new TrainedUpdate(EnvelopeSigner.Sign(v.Identity, envelope), honest.Payload, honest.MeanLoss, (long)claimed);
        Assert.Equal(RejectReason.WrongTokenCount, Assert.Throws<ProtocolException>(() => v.Submit(inflated)).Reason);
        v.Submit(honest);

        var s = d.Snapshots.Refresh();
        var row = Assert.Single(s.Volunteers);
        Assert.Equal(1, row.Accepted);
        Assert.Equal(d.TokensPerUnit, row.Credit);
        Assert.Equal(d.TokensPerUnit, s.Status.CreditedTokens);
    }

    [Fact]
    public async Task BannedVolunteerShowsItsReasonAndTime()
    {
        await using var d = await DashboardHarness.StartAsync(volunteers: 1);
        var v = d.Volunteers[0];
        var update = v.Train(v.Lease());
        v.Submit(update);
        // Each equivocation costs reputation; below the ban threshold the volunteer is banned with evidence.
        for (int i = 0; i < 8 && d.Engine.Store.GetVolunteer(v.Id) is { Banned: false }; i++)
            DashboardHarness.Equivocate(v, update);

        var row = Assert.Single(d.Snapshots.Refresh().Volunteers);
        Assert.True(row.Banned);
        Assert.False(row.Active);
        Assert.Equal(d.Engine.Store.GetVolunteer(v.Id)!.BanReason, row.BanReason);
        Assert.NotNull(row.BannedAt);
        Assert.Equal(1, d.Snapshots.Current.Status.BannedVolunteers);
    }
}
