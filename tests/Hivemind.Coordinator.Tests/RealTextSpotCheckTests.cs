using Hivemind.Coordinator.SpotChecks;
using Hivemind.Coordinator.Tests.Cli;
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
    /// <summary>
    /// A hang guard, not a speed bound: each check recomputes a GPT-2-vocabulary unit, and at a load average of 45 on two cores (CI
    /// beside four builds, 2026-12-02) the second of two checks was not done within 3 minutes of the first.
    /// </summary>
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(10);

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

    [Fact]
    public async Task ACheatsRealTextEvidenceReChecksFromTheFileAloneAndATamperedSliceIsRefused()
    {
        // The bytes tokenizer keeps the unit small; what matters is that the unit names a token slice of a corpus that then goes away.
        string corpus = TextCorpusFolder.Create(Path.Combine(_dir.Path, "corpus"), TrainBytes, HeldOutBytes);
        var h = _h = new EngineHarness(o => o with
        {
            Data = corpus, Quorum = 8, SpotCheckProbability = 1, SpotCheckProbationProbability = 1,
        });
        var waiter = new SpotCheckWaiter(h.Engine);
        var cheater = h.Join();
        var unit = cheater.Lease();
        Assert.Equal(DataKind.TokenSlice, unit.Data.Kind);
        cheater.Submit(cheater.Train(unit, Behavior.SignFlip));
        await waiter.WaitForCountAsync(1, CheckTimeout);
        var failed = Assert.Single(waiter.Outcomes);
        Assert.True(failed.Verdict == SpotCheckVerdict.Failed, $"the sign flip was judged {failed.Verdict}: {failed.Detail}");

        // Only the evidence file leaves the coordinator: its data directory and its corpus are gone when anyone re-checks it.
        string evidence = Path.Combine(_dir.Path, "cheat.evidence");
        File.Copy(Path.Combine(h.Options.DataDirectory, failed.EvidencePath!), evidence);
        h.Dispose();
        _h = null;
        Directory.Delete(corpus, recursive: true);

        var kept = SpotCheckEvidence.Read(evidence);
        Assert.Equal(unit.Data, kept.Recipe.Data);
        Assert.Equal(unit.Data.ByteLength, kept.Slice.LongLength);
        var confirmed = await CliRun.RunAsync(VerifyEvidenceCommand.Name, evidence);
        Assert.True(confirmed.ExitCode == 0, $"verify-evidence exited {confirmed.ExitCode}:\n{confirmed.Out}\n{confirmed.Error}");
        Assert.Contains("CONFIRMED", confirmed.Out, StringComparison.Ordinal);
        Assert.Contains($"token slice {unit.Data.FileSha256}", confirmed.Out, StringComparison.Ordinal);

        // One flipped bit in the kept slice: the data no longer hashes to the slice the unit named, so nothing is re-run on it.
        byte[] slice = kept.Slice.ToArray();
        slice[slice.Length / 2] ^= 1;
        string tampered = Path.Combine(_dir.Path, "tampered.evidence");
        (kept with { Slice = slice }).Write(tampered);
        var refused = await CliRun.RunAsync(VerifyEvidenceCommand.Name, tampered);
        Assert.True(refused.ExitCode == VerifyEvidenceCommand.NotConfirmed, $"verify-evidence exited {refused.ExitCode}:\n{refused.Out}\n{refused.Error}");
        Assert.Contains("NOT CONFIRMED", refused.Out, StringComparison.Ordinal);
        Assert.Contains($"not to the unit's token slice {unit.Data.FileSha256}", refused.Out, StringComparison.Ordinal);

        // A slice dropped from the file is named as missing, not re-run on nothing.
        var missing = EvidenceCheck.Run(kept with { Slice = [] });
        Assert.False(missing.Confirmed);
        Assert.Contains(missing.Problems, p => p.Contains("missing or truncated", StringComparison.Ordinal));
    }
}
