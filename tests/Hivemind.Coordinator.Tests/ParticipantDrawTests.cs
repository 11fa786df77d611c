using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The participant draw on a fake clock: when a window closes, every free unit of the round goes out among that window's askers at
/// once (one each), losers are sent to the next window, and keys on probation never get more than their slots.
/// </summary>
public sealed class ParticipantDrawTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    private static CoordinatorOptions Drawn(CoordinatorOptions o, int quorum, int spare) =>
        o with { ParticipantDrawWindow = Window, Quorum = quorum, SpareLeases = spare, DeterministicPlanning = false };

    /// <summary>Everyone asks once, the window passes, everyone asks again (as a client that obeys retry_after does).</summary>
    private static List<WorkDecision> AskThroughOneWindow(EngineHarness h, IReadOnlyList<EngineHarness.Volunteer> askers)
    {
        foreach (var v in askers)
        {
            var first = h.Engine.RequestWork(v.Session);
            Assert.Null(first.Unit); // nobody gets a unit before the draw, however early it asks
        }
        h.Time.Advance(Window);
        return [.. askers.Select(v => h.Engine.RequestWork(v.Session))];
    }

    [Fact]
    public void NAskersInOneWindowGetNUnitsOfTheSameRound()
    {
        using var h = new EngineHarness(o => Drawn(o, quorum: 4, spare: 0));
        var askers = Enumerable.Range(0, 4).Select(_ => h.Join()).ToList();

        var decisions = AskThroughOneWindow(h, askers);

        Assert.All(decisions, d => Assert.NotNull(d.Unit));
        Assert.All(decisions, d => Assert.Equal(0, d.Unit!.Round));
        Assert.Equal(4, decisions.Select(d => d.Unit!.Id).Distinct().Count());
        Assert.Equal(4, h.Engine.Store.WorkUnits(0).Count);
    }

    [Fact]
    public void MoreAskersThanUnitsGetExactlyTheFreeUnitsAndTheRestTheNextWindow()
    {
        using var h = new EngineHarness(o => Drawn(o, quorum: 4, spare: 1));
        var askers = Enumerable.Range(0, 8).Select(_ => h.Join()).ToList();

        var decisions = AskThroughOneWindow(h, askers);

        Assert.Equal(5, decisions.Count(d => d.Unit is not null));
        // Losers are told to ask again (every unit is out: the short busy retry; otherwise the next window).
        Assert.All(decisions.Where(d => d.Unit is null), d => Assert.InRange(d.RetryAfter, CoordinatorEngine.BusyRetry, Window));
        Assert.Equal(5, h.Engine.Store.WorkUnits(0).Count);
        Assert.Equal(5, h.Engine.Store.WorkUnits(0).Select(w => w.VolunteerId).Distinct().Count());
        // The losers come back for the next window: every unit is out, so nothing more is given.
        var losers = askers.Where((_, i) => decisions[i].Unit is null).ToList();
        Assert.All(losers, v => Assert.Null(h.Engine.RequestWork(v.Session).Unit));
        Assert.Equal(5, h.Engine.Store.WorkUnits(0).Count);
    }

    [Fact]
    public void KeysOnProbationGetNoMoreThanTheirSlotsCountingUnclaimedWins()
    {
        using var h = new EngineHarness(o => Drawn(o, quorum: 3, spare: 1) with { ProbationSlots = 1, ProbationReputation = 0.25 });
        // Round 0: three volunteers train and leave probation.
        var established = Enumerable.Range(0, 3).Select(_ => h.Join()).ToList();
        var units = AskThroughOneWindow(h, established);
        for (int i = 0; i < established.Count; i++) established[i].Submit(established[i].Train(units[i].Unit!));
        Assert.NotNull(h.Engine.Tick());
        Assert.Equal(1, h.Engine.Round);

        // Round 1 (four units): four fresh keys ask first; one established volunteer closes the window.
        var fresh = Enumerable.Range(0, 4).Select(_ => h.Join()).ToList();
        foreach (var f in fresh) Assert.Null(h.Engine.RequestWork(f.Session).Unit);
        h.Time.Advance(Window);
        Assert.NotNull(h.Engine.RequestWork(established[0].Session).Unit);

        // One fresh key won the probation slot but has not claimed it yet; a fifth fresh key's own window must not get a second one.
        var late = h.Join();
        Assert.Null(h.Engine.RequestWork(late.Session).Unit);
        h.Time.Advance(Window);
        Assert.Null(h.Engine.RequestWork(late.Session).Unit);

        // The winner claims its unit; the other fresh keys lose, and the established volunteers take the remaining units.
        Assert.Equal(1, fresh.Count(f => h.Engine.RequestWork(f.Session).Unit is not null));
        var rest = AskThroughOneWindow(h, established.Skip(1).ToList());
        Assert.All(rest, d => Assert.NotNull(d.Unit));

        var round1 = h.Engine.Store.WorkUnits(1);
        Assert.Equal(4, round1.Count);
        var freshIds = fresh.Append(late).Select(f => f.Id).ToHashSet();
        Assert.Equal(1, round1.Count(w => freshIds.Contains(w.VolunteerId)));
    }

    [Fact]
    public void AWindowWhoseEntrantsNeverCameBackIsDroppedNotDrawnAgainstTheNextAsker()
    {
        // Seeded, so the draw that the dropped window would have held is the same on every run (a ghost wins it).
        using var h = new EngineHarness(o => Drawn(o, quorum: 1, spare: 0) with { DeterministicPlanning = true });
        var ghosts = Enumerable.Range(0, 12).Select(_ => h.Join()).ToList();
        foreach (var g in ghosts) Assert.Null(h.Engine.RequestWork(g.Session).Unit);

        // None of them comes back, not even by the last moment a winner could have claimed.
        h.Time.Advance(Window + Participation.ParticipantDraw.ClaimWindowOf(Window));
        var late = h.Join();
        var first = h.Engine.RequestWork(late.Session);

        // The absent keys' window is gone: the late asker opens its own, and wins the free unit when it closes.
        Assert.Null(first.Unit);
        Assert.Equal(Window, first.RetryAfter);
        h.Time.Advance(Window);
        Assert.NotNull(h.Engine.RequestWork(late.Session).Unit);
        Assert.Equal([late.Id], h.Engine.Store.WorkUnits(0).Select(w => w.VolunteerId));
    }
}
