using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Verification;

namespace Hivemind.Coordinator.Tests;

/// <summary>The running norm bound's history (issue 15): one entry per key, established keys first, a floor, a window of keys.</summary>
public sealed class NormHistoryTests
{
    private static readonly Func<string, bool> NobodyOnProbation = _ => false;

    private static Dictionary<string, double> Trunk(double norm) => new() { [TensorGroups.Trunk] = norm };

    [Fact]
    public void AKeySpeaksOnceHoweverOftenItReports()
    {
        var history = new NormHistory();
        for (int i = 0; i < 3; i++) history.Record($"honest{i}", Trunk(1.0));
        for (int i = 0; i < 100; i++) history.Record("loud", Trunk(0.001));
        Assert.Equal(1.0, history.Median("trunk", NobodyOnProbation));
    }

    [Fact]
    public void NothingBeforeMinKeysKeysAreKnown()
    {
        var history = new NormHistory();
        for (int i = 0; i < NormHistory.MinKeys - 1; i++) history.Record($"k{i}", Trunk(1.0));
        Assert.Null(history.Median("trunk", NobodyOnProbation));
        Assert.Null(history.Median("expert", NobodyOnProbation));
    }

    [Fact]
    public void AKeysExpertEntryIsItsLargestExpertGroupNorm()
    {
        var history = new NormHistory();
        for (int i = 0; i < 3; i++)
            history.Record($"k{i}", new Dictionary<string, double> { [TensorGroups.Trunk] = 5.0, ["expert.0.0"] = 0.1, ["expert.0.1"] = 2.0 });
        Assert.Equal(2.0, history.Median("expert", NobodyOnProbation));
        Assert.Equal(5.0, history.Median("trunk", NobodyOnProbation));
    }

    [Fact]
    public void ProbationKeysSpeakOnlyUntilEnoughEstablishedKeysAreKnown()
    {
        var history = new NormHistory();
        var probation = new HashSet<string>();
        for (int i = 0; i < 5; i++)
        {
            history.Record($"fresh{i}", Trunk(0.01));
            probation.Add($"fresh{i}");
        }
        for (int i = 0; i < NormHistory.MinKeys - 1; i++) history.Record($"established{i}", Trunk(1.0));
        Assert.Equal(0.01, history.Median("trunk", probation.Contains)); // too few established keys: everyone speaks
        history.Record("established-last", Trunk(1.0));
        Assert.Equal(1.0, history.Median("trunk", probation.Contains));
    }

    [Fact]
    public void TheMedianNeverFallsBelowTheFloorOfItsPeak()
    {
        var history = new NormHistory();
        for (int i = 0; i < 5; i++) history.Record($"k{i}", Trunk(2.0));
        Assert.Equal(2.0, history.Median("trunk", NobodyOnProbation));
        for (int i = 0; i < 5; i++) history.Record($"k{i}", Trunk(1e-6));
        Assert.Equal(2.0 * NormHistory.FloorFraction, history.Median("trunk", NobodyOnProbation));
    }

    [Fact]
    public void OnlyTheMostRecentlyHeardKeysAreRemembered()
    {
        var history = new NormHistory();
        for (int i = 0; i < NormHistory.Window; i++) history.Record($"old{i}", Trunk(1.0));
        for (int i = 0; i < NormHistory.Window / 2 + 1; i++) history.Record($"new{i}", Trunk(3.0));
        // Window/2 + 1 new keys of Window remembered: the median is theirs (with all old keys kept it would still be 1.0).
        Assert.Equal(3.0, history.Median("trunk", NobodyOnProbation));
    }
}
