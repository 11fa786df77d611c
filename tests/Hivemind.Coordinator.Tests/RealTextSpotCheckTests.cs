using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Data;
using Hivemind.Volunteer.Behaviors;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Spot checks on real text (issue 12 on issue 13's data path): a corpus folder laid out as scripts/build-mini-pile.sh writes the
/// mini-pile (Pile-format LMD archives tokenized with GPT-2's BPE, GPT-Neo's vocabulary of 50,257), units naming its token slices.
/// The coordinator recomputes a unit from the slice it serves: an honest update is within the calibrated tolerance, a cheat is not.
/// </summary>
public sealed class RealTextSpotCheckTests : IDisposable
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(3);

    /// <summary>About 40,000 GPT-2 tokens: one slice, enough rows for a tiny unit.</summary>
    private const long TrainBytes = 160 << 10;

    private const long HeldOutBytes = 16 << 10;

    private readonly TempDirectory _dir = new();
    private EngineHarness? _h;

    public void Dispose()
    {
        _h?.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task AnHonestRealTextUnitRecomputesWithinToleranceAndACheatOnItIsCaught()
    {
        string corpus = TextCorpusFolder.Create(Path.Combine(_dir.Path, "corpus"), TrainBytes, HeldOutBytes, tokenizer: Gpt2Tokenizer.Instance);
        var h = _h = new EngineHarness(o => o with
        {
            Data = corpus, Quorum = 8, SpotCheckProbability = 1, SpotCheckProbationProbability = 1,
        });
        Assert.Equal(Gpt2Tokenizer.Gpt2Vocabulary, h.Engine.Model.VocabSize);
        var waiter = new SpotCheckWaiter(h.Engine);
        var honest = h.Join();
        var cheater = h.Join();
        var unit = honest.Lease();
        Assert.Equal(DataKind.TokenSlice, unit.Data.Kind);
        honest.Submit(honest.Train(unit));
        cheater.Work(Behavior.SignFlip);
        await waiter.WaitForCountAsync(2, CheckTimeout);

        var passed = Assert.Single(waiter.Outcomes, o => o.VolunteerId == honest.Id);
        Assert.True(passed.Verdict == SpotCheckVerdict.Passed, $"the honest real-text unit was judged {passed.Verdict}: {passed.Detail}");
        Assert.True(passed.MaxRelativeL2 <= h.Options.SpotCheckMaxRelativeL2 && passed.MinCosine >= h.Options.SpotCheckMinCosine, passed.Detail);
        var failed = Assert.Single(waiter.Outcomes, o => o.VolunteerId == cheater.Id);
        Assert.Equal(SpotCheckVerdict.Failed, failed.Verdict);
        Assert.True(h.Engine.Store.GetVolunteer(cheater.Id)!.Banned);
        Assert.False(h.Engine.Store.GetVolunteer(honest.Id)!.Banned);
    }
}
