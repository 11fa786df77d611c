using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.SpotChecks;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Tests;

/// <summary>Spot checks through the real gRPC service on 127.0.0.1: a sign-flipping volunteer is caught, banned and dropped; honest ones never flagged.</summary>
public sealed class GrpcSpotCheckTests
{
    /// <summary>Seven tiny units trained and recomputed on a loaded 2-core machine.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task ACheatingVolunteerIsBannedItsUpdatesDroppedAndHonestOnesNeverFlagged()
    {
        // A quorum the run never reaches keeps the round open, so "dropped" means "not in the set the close will aggregate".
        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with
        {
            Quorum = 10, RoundTimeout = TimeSpan.FromHours(1), SpotCheckProbability = 1, SpotCheckProbationProbability = 1,
        });
        var waiter = new SpotCheckWaiter(c.Engine);
        var (honest1, view1) = c.Volunteer(maxUnits: 2, name: "honest1");
        var (honest2, view2) = c.Volunteer(maxUnits: 2, name: "honest2");
        var (cheater, _) = c.Volunteer(Behavior.SignFlip, name: "cheater"); // works until it is banned
        using var stop = new CancellationTokenSource();
        var runs = new[] { honest1, honest2, cheater }.Select(v => Task.Run(() => v.RunAsync(stop.Token))).ToList();
        try
        {
            await waiter.WaitAsync(o => o.Count(x => x.Verdict == SpotCheckVerdict.Passed) >= 4 && o.Any(x => x.Verdict == SpotCheckVerdict.Failed),
                Patience, "4 honest checks passed and one failed");
            // The cheater stops on its ban (exit code 3), the honest volunteers after their two units.
            Assert.Equal(ExitCodes.Banned, await runs[2].WaitAsync(Patience));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(runs).WaitAsync(Patience);
        }

        var volunteers = c.Engine.Store.Volunteers();
        var banned = Assert.Single(volunteers, v => v.Banned);
        long round = c.Engine.Round;
        var ledger = c.Engine.Store.Updates(round);
        // At probability 1 every accepted honest update is checked exactly once. How many there are is the client's business (under
        // load a volunteer may have a unit more accepted than --max-units counts, e.g. after a reply it never got), so count them.
        int honestAccepted = ledger.Count(u => u.VolunteerId != banned.Id);
        Assert.True(honestAccepted >= 4, $"{honestAccepted} honest updates accepted; each honest volunteer should have had two");
        await waiter.WaitAsync(o => o.Count(x => x.VolunteerId != banned.Id) >= honestAccepted, Patience, $"checks of all {honestAccepted} honest updates");
        var outcomes = c.Engine.Store.SpotChecks();
        Assert.All(outcomes.Where(o => o.Verdict == SpotCheckVerdict.Failed), o => Assert.Equal(banned.Id, o.VolunteerId));
        Assert.All(outcomes.Where(o => o.VolunteerId != banned.Id), o => Assert.Equal(SpotCheckVerdict.Passed, o.Verdict));
        var honestChecks = outcomes.Where(o => o.VolunteerId != banned.Id).ToList();
        Assert.True(honestChecks.Count == honestAccepted && honestChecks.Select(o => o.UpdateSequence).Distinct().Count() == honestAccepted,
            $"{honestChecks.Count} honest checks for {honestAccepted} accepted honest updates: "
            + string.Join("; ", honestChecks.Select(o => $"{o.VolunteerId[..8]} {o.WorkUnitId} #{o.UpdateSequence}"))
            + $" | honest1 accepted [{string.Join(",", view1.Accepted)}] info [{string.Join(" / ", view1.Waits)}] errors [{string.Join(" / ", view1.Errors)}]"
            + $" | honest2 accepted [{string.Join(",", view2.Accepted)}] info [{string.Join(" / ", view2.Waits)}] errors [{string.Join(" / ", view2.Errors)}]");
        Assert.Contains(ledger, u => u.VolunteerId == banned.Id); // accepted first (it passed every submit-path check) ...
        Assert.Equal(honestAccepted, c.Engine.Status().AcceptedThisRound); // ... then dropped

        // Anyone can re-run the check from the evidence file with the coordinator's command.
        var failed = outcomes.First(o => o.Verdict == SpotCheckVerdict.Failed);
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await CoordinatorCli.RunAsync([VerifyEvidenceCommand.Name, Path.Combine(c.Engine.Options.DataDirectory, failed.EvidencePath!)],
            new CliConsole(output, error, HandlesTermination: false)).WaitAsync(Patience);
        Assert.True(code == 0, $"verify-evidence exited {code}: {output}{error}");
        Assert.Contains("CONFIRMED", output.ToString(), StringComparison.Ordinal);
    }
}
