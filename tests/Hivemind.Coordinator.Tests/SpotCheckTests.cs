using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Errors;
using Hivemind.Volunteer.Behaviors;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Spot checks on the engine (fake clock, real trainer): honest updates pass, a cheat is caught with evidence that re-checks,
/// its key is banned and its pending updates dropped, probation draws more checks, and a full queue never blocks a submission.
/// </summary>
public sealed class SpotCheckTests : IDisposable
{
    /// <summary>A tiny unit recomputes in about a second; this bounds a wait on a loaded 2-core machine.</summary>
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromMinutes(2);

    private EngineHarness? _h;

    public void Dispose() => _h?.Dispose();

    private EngineHarness Harness(double p, double probationP, int passes = 2, int capacity = 16, int quorum = 8) =>
        _h = new EngineHarness(o => o with
        {
            Quorum = quorum,
            SpotCheckProbability = p,
            SpotCheckProbationProbability = probationP,
            SpotCheckProbationPasses = passes,
            SpotCheckQueueCapacity = capacity,
        });

    [Fact]
    public async Task HonestUpdatesPassEveryCheck()
    {
        var h = Harness(p: 1, probationP: 1);
        var waiter = new SpotCheckWaiter(h.Engine);
        var a = h.Join();
        var b = h.Join();
        a.Work();
        b.Work();
        a.Work();
        await waiter.WaitForCountAsync(3, CheckTimeout);
        Assert.All(waiter.Outcomes, o => Assert.Equal(SpotCheckVerdict.Passed, o.Verdict));
        Assert.All(waiter.Outcomes, o => Assert.True(o.MaxRelativeL2 <= h.Options.SpotCheckMaxRelativeL2, $"{o.WorkUnitId}: {o.Detail}"));
        Assert.Equal(3, h.Engine.Store.SpotChecks().Count(o => o.Verdict == SpotCheckVerdict.Passed));
        Assert.Equal(3, h.Engine.Status().AcceptedThisRound);
        Assert.DoesNotContain(h.Engine.Store.Volunteers(), v => v.Banned);
    }

    [Theory]
    [InlineData(Behavior.SignFlip)]
    [InlineData(Behavior.LabelFlip)]
    public async Task CheatIsBannedWithEvidenceAndItsPendingUpdatesAreDropped(Behavior cheat)
    {
        var h = Harness(p: 1, probationP: 1);
        var waiter = new SpotCheckWaiter(h.Engine);
        var honest = h.Join();
        var cheater = h.Join();
        honest.Work();
        cheater.Work(cheat); // sign-flip and label-flip pass every check the submit path makes: only the recomputation sees them
        await waiter.WaitForCountAsync(2, CheckTimeout);

        var failed = Assert.Single(waiter.Outcomes, o => o.Verdict == SpotCheckVerdict.Failed);
        Assert.Equal(cheater.Id, failed.VolunteerId);
        Assert.Equal(SpotCheckVerdict.Passed, Assert.Single(waiter.Outcomes, o => o.VolunteerId == honest.Id).Verdict);
        Assert.Equal(1, failed.DroppedUpdates);
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound); // only the honest update will be aggregated
        Assert.Equal(2, h.Engine.Store.LedgerCount()); // the ledger keeps what was accepted
        var stored = Assert.Single(h.Engine.Store.SpotChecks(cheater.Id));
        Assert.Equal(SpotCheckVerdict.Failed, stored.Verdict);
        Assert.Equal(failed.EvidencePath, stored.EvidencePath);
        Assert.True(h.Engine.Store.GetVolunteer(cheater.Id)!.Banned);
        Assert.False(h.Engine.Store.GetVolunteer(honest.Id)!.Banned);

        // The evidence re-checks on its own: signature, payload hash, and a fresh recomputation that disagrees again.
        var evidence = SpotCheckEvidence.Read(Path.Combine(h.Options.DataDirectory, failed.EvidencePath!));
        var check = EvidenceCheck.Run(evidence);
        Assert.True(check.Confirmed, string.Join("; ", check.Problems));
        Assert.True(check.Reproduction!.WorstRelativeL2 <= h.Options.SpotCheckMaxRelativeL2, $"the coordinator's recomputation did not reproduce: {check.Reproduction}");
        Assert.Equal(2, evidence.FormatVersion);
        Assert.Equal(Hivemind.Data.DataKind.Synthetic, evidence.Recipe.Data!.Kind);
        Assert.Empty(evidence.Slice); // a synthetic unit's data is derived, not kept

        // A file in the older v1 layout (no data in the recipe, no slice section) still reads and still re-checks.
        string v1 = Path.Combine(h.Scratch, "v1.evidence");
        WriteAsV1(Path.Combine(h.Options.DataDirectory, failed.EvidencePath!), v1);
        var old = SpotCheckEvidence.Read(v1);
        Assert.Equal(1, old.FormatVersion);
        Assert.Null(old.Recipe.Data);
        var oldCheck = EvidenceCheck.Run(old);
        Assert.True(oldCheck.Confirmed, string.Join("; ", oldCheck.Problems));

        // Banned: its next submission is refused before any payload byte.
        var e = Assert.Throws<ProtocolException>(() => cheater.Lease());
        Assert.Equal(RejectReason.Banned, e.Reason);
    }

    [Fact]
    public async Task AnUpdateStillStreamingWhenItsKeyIsBannedIsRefusedAtCompletion()
    {
        // The race the gRPC test met under load: a cheater's next update opens its stream (passing the ban check at BeginSubmit),
        // the check of its previous update fails and bans the key (CheatIsBanned… above shows that path), then the stream completes.
        // It must not join the round. The ban is written straight to the store so that it lands inside the stream, every time.
        var h = Harness(p: 0, probationP: 0);
        var cheater = h.Join();
        var update = cheater.Train(cheater.Lease(), Behavior.SignFlip);

        var ticket = h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, cheater.Id);
        var payload = h.Engine.ReceivePayload(ticket);
        try
        {
            h.Engine.Store.Ban(cheater.Id, "failed spot check of an earlier update (test)", 0, null, null);
            update.Payload.CopyTo(payload.Buffer);
            payload.Report(update.Payload.Length);
            await payload.ProcessedAsync().WaitAsync(CheckTimeout);
            var e = Assert.Throws<ProtocolException>(() => h.Engine.CompleteSubmit(ticket, payload));
            Assert.Equal(RejectReason.Banned, e.Reason);
            Assert.Contains("banned while this update streamed", e.Message);
        }
        finally
        {
            await payload.DisposeAsync();
        }
        Assert.Equal(0, h.Engine.Status().AcceptedThisRound);
        Assert.Equal(0, h.Engine.Store.LedgerCount());
        string updates = Path.Combine(h.Options.DataDirectory, "updates");
        Assert.False(Directory.Exists(updates) && Directory.EnumerateFiles(updates, "*", SearchOption.AllDirectories).Any(), "the refused payload left a file in updates/");
    }

    [Fact]
    public async Task DroppedUpdatesStayDroppedAfterARestart()
    {
        var h = Harness(p: 1, probationP: 1);
        var waiter = new SpotCheckWaiter(h.Engine);
        var honest = h.Join();
        var cheater = h.Join();
        honest.Work();
        cheater.Work(Behavior.SignFlip);
        await waiter.WaitAsync(o => o.Any(x => x.Verdict == SpotCheckVerdict.Failed) && o.Count >= 2, CheckTimeout, "the cheat's failed check");
        h.Restart();
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ABannedKeysDroppedUnitDoesNotTakeAProbationPlace(bool restart)
    {
        // Everyone is new (on probation) and quorum 2 with no spare: the round's two units go to the cheater and to p1.
        var h = _h = new EngineHarness(o => o with
        {
            Quorum = 2, SpareLeases = 0, ProbationSlots = 1, SpotCheckProbability = 1, SpotCheckProbationProbability = 1,
        });
        var (_, _, _, p2) = await CheaterCaughtBesideAnHonestKey(h);
        Assert.Equal(1, h.Engine.Status().AcceptedThisRound);
        if (restart) h.Restart(); // the drop is rebuilt from the store (the banned key's update is not aggregated)

        // The dropped unit's slot is free again, and p2 (on probation like everyone left) must be able to fill it: the banned key's
        // unit is not in the round any more, so it must not count as a probation key's place (the round would wait for its timeout).
        var decision = h.Engine.RequestWork(p2.Session);
        Assert.True(decision.Unit is not null, $"p2 was told to wait: {decision.Reason}");
    }

    [Fact]
    public async Task ABannedKeysDroppedUnitNoLongerCoversItsExperts()
    {
        // Two experts per key (tiny: 4 per layer), quorum 2, no spare: the cheater and p1 take disjoint halves of every layer.
        var h = _h = new EngineHarness(o => o with
        {
            Quorum = 2, SpareLeases = 0, MaxExpertsPerKey = 2, ProbationSlots = 2, SpotCheckProbability = 1, SpotCheckProbationProbability = 1,
        });
        var (_, cheat, honest, p2) = await CheaterCaughtBesideAnHonestKey(h);
        Assert.Empty(cheat.Shard.Experts.Intersect(honest.Shard.Experts));

        // The dropped unit trains nothing for this round, so its experts have no holder left: the planner must give them to p2
        // (counted as still covered, p2 would get a random half and the cheater's experts could go untrained).
        var decision = h.Engine.RequestWork(p2.Session);
        Assert.True(decision.Unit is not null, $"p2 was told to wait: {decision.Reason}");
        Assert.Equal(cheat.Shard.Experts.OrderBy(e => e.Layer).ThenBy(e => e.Expert), decision.Unit!.Shard.Experts.OrderBy(e => e.Layer).ThenBy(e => e.Expert));
    }

    /// <summary>
    /// Three keys join; a cheater and p1 lease the round's units and submit (the cheater sign-flipped), and both checks are decided,
    /// the cheater's failed. p2, which holds nothing yet, is returned to ask for the freed place.
    /// </summary>
    private static async Task<(EngineHarness.Volunteer Cheater, WorkUnit Cheat, WorkUnit Honest, EngineHarness.Volunteer P2)> CheaterCaughtBesideAnHonestKey(EngineHarness h)
    {
        var waiter = new SpotCheckWaiter(h.Engine);
        var cheater = h.Join();
        var p1 = h.Join();
        var p2 = h.Join();
        var cheat = cheater.Lease();
        var honest = p1.Lease();
        cheater.Submit(cheater.Train(cheat, Behavior.SignFlip));
        p1.Submit(p1.Train(honest));
        await waiter.WaitForCountAsync(2, CheckTimeout);
        Assert.Equal(SpotCheckVerdict.Failed, Assert.Single(waiter.Outcomes, o => o.VolunteerId == cheater.Id).Verdict);
        return (cheater, cheat, honest, p2);
    }

    [Fact]
    public void EvidenceThatDoesNotReproduceIsNotConfirmed()
    {
        var h = Harness(p: 0, probationP: 0);
        var v = h.Join();
        var unit = v.Lease();
        var update = v.Train(unit);
        var start = h.Engine.ShardParameters(v.Session, unit.Version, unit.Id);
        var lease = h.Engine.Store.GetWorkUnit(unit.Id)!;
        var claimed = Hivemind.Protocol.Tensors.TensorCodec.Decode(update.Payload, update.Payload.LongLength).Tensors;
        // An honest update presented as evidence (as a coordinator framing a volunteer would): the re-check must refuse it.
        var framed = new SpotCheckEvidence(UnitRecipe.From(h.Options, lease, unit.Data), v.Id, 1, new SpotCheckThresholds(h.Options.SpotCheckMaxRelativeL2, h.Options.SpotCheckMinCosine),
            UpdateDivergence.Measure(claimed, claimed), 0, update.Envelope.Bytes, update.Envelope.Signature, update.Payload, start, claimed);
        string path = Path.Combine(h.Scratch, "framed.evidence");
        framed.Write(path);
        var check = EvidenceCheck.Run(SpotCheckEvidence.Read(path));
        Assert.False(check.Confirmed);
        Assert.Contains(check.Problems, p => p.Contains("agrees with the payload", StringComparison.Ordinal));

        // A tampered payload breaks the tie to the signature.
        var tampered = framed with { Payload = [.. update.Payload.Take(update.Payload.Length - 1), (byte)(update.Payload[^1] ^ 1)] };
        var broken = EvidenceCheck.Run(tampered);
        Assert.False(broken.Confirmed);
        Assert.Contains(broken.Problems, p => p.Contains("SHA-256", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProbationDrawsMoreChecksUntilEnoughPass()
    {
        // Reputation alone would end probation at once; the two required passes keep the key checked at the probation rate (1)
        // until they are in, then the ordinary rate (0) applies.
        _h = new EngineHarness(o => o with
        {
            Quorum = 8, ProbationReputation = 0, SpotCheckProbability = 0, SpotCheckProbationProbability = 1, SpotCheckProbationPasses = 2,
        });
        var waiter = new SpotCheckWaiter(_h.Engine);
        var v = _h.Join();
        v.Work();
        await waiter.WaitForCountAsync(1, CheckTimeout);
        v.Work();
        await waiter.WaitForCountAsync(2, CheckTimeout);
        v.Work();
        v.Work();
        Assert.Equal(0, _h.Engine.PendingSpotChecks);
        Assert.Equal(2, _h.Engine.Store.SpotChecks(v.Id).Count);
        Assert.All(_h.Engine.Store.SpotChecks(v.Id), o => Assert.Equal(SpotCheckVerdict.Passed, o.Verdict));
    }

    [Fact]
    public async Task AFullQueueSkipsTheCheckAndNeverBlocksTheSubmission()
    {
        var h = Harness(p: 1, probationP: 1, capacity: 1);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The worker reports its first outcome, then is held: the queue behind it fills up.
        h.Engine.SpotCheckDecided += _ =>
        {
            entered.TrySetResult();
            gate.Task.Wait(CheckTimeout);
        };
        var waiter = new SpotCheckWaiter(h.Engine);
        var a = h.Join();
        a.Work();
        await entered.Task.WaitAsync(CheckTimeout);
        a.Work(); // waits in the queue (capacity 1)
        var third = Task.Run(() => a.Work()); // the queue is full: the check is skipped, the submission completes
        await third.WaitAsync(CheckTimeout);
        var skipped = Assert.Single(h.Engine.Store.SpotChecks(), o => o.Verdict == SpotCheckVerdict.Skipped);
        Assert.Contains("queue was full", skipped.Detail, StringComparison.Ordinal);
        Assert.Equal(3, h.Engine.Status().AcceptedThisRound);
        gate.SetResult();
        await waiter.WaitForCountAsync(2, CheckTimeout);
        Assert.Equal(2, h.Engine.Store.SpotChecks().Count(o => o.Verdict == SpotCheckVerdict.Passed));
    }

    [Fact]
    public void DefaultOptionsHaveSpotChecksOn()
    {
        // Defaults are what operators run: checks on, new keys checked more often (docs/verification.md's recommended rates).
        var defaults = new CoordinatorOptions();
        Assert.Equal(0.05, defaults.SpotCheckProbability);
        Assert.Equal(0.25, defaults.SpotCheckProbationProbability);
        Assert.True(defaults.SpotCheckProbationPasses >= 1);
        defaults.Validate();
        Assert.DoesNotContain(Hosting.StartupWarnings.For(defaults, new Hosting.ListenSettings("127.0.0.1", 5000)),
            w => w.Contains("spot-check", StringComparison.Ordinal));
    }

    [Fact]
    public void BadSpotCheckOptionsAreRefusedWithTheFlag()
    {
        var e = Assert.Throws<ArgumentException>(() => (new CoordinatorOptions { SpotCheckProbability = 1.5 }).Validate());
        Assert.Contains("spot-check-probability 1.5", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => (new CoordinatorOptions { SpotCheckQueueCapacity = 0 }).Validate());
        Assert.Contains("spot-check-queue-capacity 0", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Rewrites a v2 evidence file in the v1 layout: the v1 magic, the header without the recipe's data, no slice section.</summary>
    private static void WriteAsV1(string v2, string v1)
    {
        using var input = new BinaryReader(File.OpenRead(v2));
        Assert.Equal(SpotCheckEvidence.Magic.ToArray(), input.ReadBytes(SpotCheckEvidence.Magic.Length));
        var sections = new List<byte[]>();
        while (input.BaseStream.Position < input.BaseStream.Length) sections.Add(input.ReadBytes(checked((int)input.ReadInt64())));
        Assert.Equal(7, sections.Count);
        var header = System.Text.Json.Nodes.JsonNode.Parse(sections[0])!;
        Assert.True(header["Recipe"]!.AsObject().Remove("Data"));
        sections[0] = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        using var output = new BinaryWriter(File.Create(v1));
        output.Write(SpotCheckEvidence.MagicV1);
        foreach (var section in sections.Take(6))
        {
            output.Write((long)section.Length);
            output.Write(section);
        }
    }
}
