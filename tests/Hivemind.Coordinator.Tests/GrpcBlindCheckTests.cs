using Google.Protobuf;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Volunteer.Behaviors;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Blind spot checks (--spot-check-mode volunteer) through the real gRPC service on 127.0.0.1: a first volunteer trains one unit, its
/// update is drawn for a check, and a second volunteer that asks for work is leased the same unit as an ordinary-looking unit. The
/// second's update is compared with the first's; a disagreement goes to the coordinator's own recomputation.
/// </summary>
public sealed class GrpcBlindCheckTests
{
    /// <summary>Two tiny units and at most one recomputation on a loaded 2-core machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    /// <summary>Every unit id has this form, check units included.</summary>
    private const string IdForm = "^r[0-9]+-u[0-9]+-[0-9a-f]{8}$";

    private static CoordinatorOptions Blind(string dir) => EngineHarness.TinyOptions(dir) with
    {
        // A quorum the run never reaches keeps the round open, so what is aggregated is what stays in the open round.
        Quorum = 10, RoundTimeout = TimeSpan.FromHours(1),
        SpotCheckMode = SpotCheckModes.Volunteer, SpotCheckProbability = 1, SpotCheckProbationProbability = 1,
        // Every loopback volunteer joins from 127.0.0.1; the distinct-source rule has its own engine test.
        SpotCheckDistinctSource = false,
        // Reputable at once, so the second key may check the first.
        ProbationReputation = 0, SpotCheckProbationPasses = 0,
    };

    /// <summary>What one run of "checked volunteer, then checker" left behind.</summary>
    private sealed record Run(LoopbackCoordinator C, string CheckedId, string CheckerId, string CheckedUnit, string CheckUnit,
        IReadOnlyList<SpotCheckOutcome> Outcomes, DownloadRecorder CheckedReplies, DownloadRecorder CheckerReplies);

    /// <summary>The checked volunteer trains one unit; once its check waits, the checker trains one (the check unit); then the outcomes.</summary>
    private static async Task<Run> CheckAsync(LoopbackCoordinator c, Behavior checkedBehavior, Behavior checkerBehavior, int outcomes)
    {
        var waiter = new SpotCheckWaiter(c.Engine);
        var checkedReplies = new DownloadRecorder();
        var checkerReplies = new DownloadRecorder();
        var (first, _) = c.Volunteer(checkedBehavior, maxUnits: 1, name: "checked", interceptor: checkedReplies);
        await first.RunAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(1, c.Engine.BlindChecksOutstanding); // drawn (p = 1), waiting for a checker: nobody else has asked yet
        var (second, _) = c.Volunteer(checkerBehavior, maxUnits: 1, name: "checker", interceptor: checkerReplies);
        await second.RunAsync(CancellationToken.None).WaitAsync(Patience);
        await waiter.WaitForCountAsync(outcomes, Patience);
        var updates = c.Engine.Store.Updates(c.Engine.Round);
        Assert.Equal(2, updates.Count);
        return new Run(c, updates[0].VolunteerId, updates[1].VolunteerId, updates[0].WorkUnitId, updates[1].WorkUnitId, waiter.Outcomes, checkedReplies, checkerReplies);
    }

    [Fact]
    public async Task ACheaterIsCaughtByABlindVolunteerCheck()
    {
        await using var c = await LoopbackCoordinator.StartAsync(Blind);
        var run = await CheckAsync(c, Behavior.SignFlip, Behavior.Honest, outcomes: 2);

        Assert.True(c.Engine.IsCheckUnit(run.CheckUnit), "the second volunteer should have been leased the check unit");
        var failed = Assert.Single(run.Outcomes, o => o.Verdict == SpotCheckVerdict.Failed);
        Assert.Equal(run.CheckedId, failed.VolunteerId);
        Assert.Equal(run.CheckUnit, failed.CheckUnit); // found by the blind check, confirmed by the coordinator's recomputation
        Assert.Contains("blind recomputation by", failed.Detail, StringComparison.Ordinal);
        var confirmed = Assert.Single(run.Outcomes, o => o.VolunteerId == run.CheckerId);
        Assert.Equal(SpotCheckVerdict.Passed, confirmed.Verdict);
        Assert.True(c.Engine.Store.GetVolunteer(run.CheckedId)!.Banned);
        Assert.False(c.Engine.Store.GetVolunteer(run.CheckerId)!.Banned);
        // The cheat is dropped and the check unit never counts: nothing of the round is left to aggregate.
        Assert.Equal(0, c.Engine.Status().AcceptedThisRound);
        Assert.True(File.Exists(Path.Combine(c.Engine.Options.DataDirectory, failed.EvidencePath!)), "the failed check keeps its evidence file");
    }

    [Fact]
    public async Task AnHonestUpdateIsConfirmedByTheCheckerAloneAndTheCheckUnitIsNotAggregated()
    {
        await using var c = await LoopbackCoordinator.StartAsync(Blind);
        var run = await CheckAsync(c, Behavior.Honest, Behavior.Honest, outcomes: 1);

        var passed = Assert.Single(run.Outcomes);
        Assert.Equal(SpotCheckVerdict.Passed, passed.Verdict);
        Assert.Equal(run.CheckedId, passed.VolunteerId);
        Assert.Equal(run.CheckerId, passed.Checker); // the two volunteers agreed: no recomputation on the coordinator
        Assert.Equal(run.CheckUnit, passed.CheckUnit);
        Assert.True(passed.MaxRelativeL2 <= c.Engine.Options.SpotCheckMaxRelativeL2, passed.Detail);
        Assert.Equal(1, c.Engine.Status().AcceptedThisRound); // the checked update only, not the check unit as a second copy
        Assert.DoesNotContain(c.Engine.Store.Volunteers(), v => v.Banned);
        // The ledger's audit credits the check unit's tokens to the checker as verification work.
        var entries = c.Engine.Ledger.Entries(0, c.Engine.Ledger.Size).Select(b => Protocol.Ledger.LedgerEntry.Decode(b)).ToList();
        var problems = new List<string>();
        var credit = Hivemind.Coordinator.Ledger.LedgerAudit.Credit(entries, problems);
        Assert.Empty(problems);
        Assert.Equal(c.Engine.ExpectedTokens, Assert.Single(credit, r => r.VolunteerId == run.CheckerId).CreditedTokens);
    }

    [Fact]
    public async Task ALyingCheckerDoesNotGetTheHonestKeyBanned()
    {
        await using var c = await LoopbackCoordinator.StartAsync(Blind);
        var run = await CheckAsync(c, Behavior.Honest, Behavior.SignFlip, outcomes: 2);

        // The checker's word alone bans nobody: the coordinator recomputed, cleared the honest key and caught the liar.
        var honest = Assert.Single(run.Outcomes, o => o.VolunteerId == run.CheckedId);
        Assert.Equal(SpotCheckVerdict.Passed, honest.Verdict);
        Assert.Equal("coordinator", honest.Checker);
        Assert.Contains("disagreed", honest.Detail, StringComparison.Ordinal);
        var liar = Assert.Single(run.Outcomes, o => o.VolunteerId == run.CheckerId);
        Assert.Equal(SpotCheckVerdict.Failed, liar.Verdict);
        Assert.Equal(run.CheckUnit, liar.WorkUnitId);
        Assert.False(c.Engine.Store.GetVolunteer(run.CheckedId)!.Banned);
        Assert.True(c.Engine.Store.GetVolunteer(run.CheckerId)!.Banned);
        Assert.Equal(1, c.Engine.Status().AcceptedThisRound); // the honest update stays in the round

        // The evidence against the liar re-checks on its own, like any failed check's.
        var evidence = SpotCheckEvidence.Read(Path.Combine(c.Engine.Options.DataDirectory, liar.EvidencePath!));
        var check = EvidenceCheck.Run(evidence);
        Assert.True(check.Confirmed, string.Join("; ", check.Problems));
    }

    [Fact]
    public async Task TheCheckUnitsLeaseIsByteForByteAnOrdinaryLease()
    {
        await using var c = await LoopbackCoordinator.StartAsync(Blind);
        var run = await CheckAsync(c, Behavior.Honest, Behavior.Honest, outcomes: 1);

        var ordinaryReply = Assert.Single(run.CheckedReplies.Units);
        var checkReply = Assert.Single(run.CheckerReplies.Units);
        var ordinary = ordinaryReply.WorkUnit;
        var check = checkReply.WorkUnit;
        Assert.Equal(run.CheckedUnit, ordinary.WorkUnitId);
        Assert.Equal(run.CheckUnit, check.WorkUnitId);
        Assert.True(c.Engine.IsCheckUnit(check.WorkUnitId) && !c.Engine.IsCheckUnit(ordinary.WorkUnitId));
        // The id has the usual form, and the lease the usual duration.
        Assert.Matches(IdForm, ordinary.WorkUnitId);
        Assert.Matches(IdForm, check.WorkUnitId);
        var ordinaryLease = c.Engine.Store.GetWorkUnit(ordinary.WorkUnitId)!;
        var checkLease = c.Engine.Store.GetWorkUnit(check.WorkUnitId)!;
        Assert.Equal(ordinaryLease.DeadlineMs - ordinaryLease.IssuedAtMs, checkLease.DeadlineMs - checkLease.IssuedAtMs);
        // Apart from its own id and deadline, the whole reply (every field, no extra one) is the checked unit's, byte for byte.
        var relabelled = checkReply.Clone();
        relabelled.WorkUnit.WorkUnitId = ordinary.WorkUnitId;
        relabelled.WorkUnit.DeadlineUnixMs = ordinary.DeadlineUnixMs;
        Assert.Equal(Convert.ToHexString(ordinaryReply.ToByteArray()), Convert.ToHexString(relabelled.ToByteArray()));
    }
}
