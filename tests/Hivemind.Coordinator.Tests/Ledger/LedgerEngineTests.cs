using Hivemind.Coordinator.Ledger;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Ledger;

namespace Hivemind.Coordinator.Tests.Ledger;

/// <summary>The decision ledger driven by the real engine: what it logs, atomicity with the decisions, restarts, and an outside check.</summary>
public sealed class LedgerEngineTests
{
    /// <summary>Four volunteers train one round of the harness's quorum of four.</summary>
    internal static void TrainOneRound(EngineHarness h)
    {
        var volunteers = Enumerable.Range(0, h.Options.Quorum).Select(_ => h.Join()).ToList();
        foreach (var v in volunteers) v.Work();
        Assert.NotNull(h.Engine.Tick());
    }

    private static List<LedgerEntry> Entries(EngineHarness h) =>
        h.Engine.Ledger.Entries(0, h.Engine.Ledger.Size).Select(b => LedgerEntry.Decode(b)).ToList();

    [Fact]
    public void Every_decision_of_a_round_is_logged_in_order()
    {
        using var h = new EngineHarness();
        TrainOneRound(h);
        var entries = Entries(h);
        Assert.Equal(
            [.. Enumerable.Repeat(LedgerEntryKind.Join, 4), .. Enumerable.Repeat(LedgerEntryKind.Lease, 1), LedgerEntryKind.Accept],
            entries.Take(6).Select(e => e.Kind));
        Assert.Equal(4, entries.Count(e => e.Kind == LedgerEntryKind.Lease));
        var accepts = entries.Where(e => e.Kind == LedgerEntryKind.Accept).ToList();
        Assert.Equal(4, accepts.Count);
        Assert.All(accepts, a => Assert.Equal(h.Engine.ExpectedTokens, a.Integer(LedgerFields.Tokens)));
        var round = Assert.Single(entries, e => e.Kind == LedgerEntryKind.Round);
        Assert.Same(round, entries[^1]);
        Assert.Equal(0, round.Integer(LedgerFields.Round));
        Assert.Equal(1, round.Integer(LedgerFields.Version));
        Assert.Equal(accepts.Select(a => a.Text(LedgerFields.Unit)).Order(), round.Text(LedgerFields.Units)!.Split(',').Order());
        // The model hash is the checkpoint file's, so anyone holding the checkpoint can check it with sha256sum.
        string checkpoint = Path.Combine(h.Options.DataDirectory, "checkpoints", "v000001.safetensors");
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(checkpoint)), round.Bytes(LedgerFields.ModelSha256));
        Assert.Contains(round.Fields, f => f.Name == LedgerFields.GroupPrefix + "trunk" && ((string)f.Value).StartsWith("holders=4 norm=", StringComparison.Ordinal));
    }

    [Fact]
    public void The_log_survives_a_restart_and_grows_as_an_extension_of_it()
    {
        using var h = new EngineHarness();
        TrainOneRound(h);
        var before = h.Engine.Ledger.Head();
        h.Restart();
        var after = h.Engine.Ledger.Head();
        Assert.Equal(before.TreeSize, after.TreeSize);
        Assert.Equal(before.RootHash, after.RootHash);
        Assert.Equal(before.PublicKey, after.PublicKey); // the coordinator key is persisted, not regenerated
        h.Join();
        var grown = h.Engine.Ledger.Head();
        Assert.Equal(before.TreeSize + 1, grown.TreeSize);
        Assert.True(MerkleProofs.VerifyConsistency(before.TreeSize, grown.TreeSize, before.RootHash, grown.RootHash,
            h.Engine.Ledger.ConsistencyProof(before.TreeSize, grown.TreeSize)));
    }

    [Fact]
    public void The_coordinator_key_file_is_owner_only()
    {
        using var h = new EngineHarness();
        if (OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(Path.Combine(h.Options.DataDirectory, DecisionLedger.KeyFileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Fact]
    public void A_decision_and_its_entry_commit_together_or_not_at_all()
    {
        using var dir = new TempDirectory();
        using var store = new CoordinatorStore(Path.Combine(dir.Path, "coordinator.db"));
        var v = new VolunteerRecord("ab", [1], "cpu", 1, 0);
        // The entry's append fails (a leaf index that leaves a gap) after the decision's write: the decision must roll back too.
        Assert.Throws<InvalidOperationException>(() => store.Atomically(() =>
        {
            store.UpsertVolunteer(v);
            store.AppendLedgerEntry(5, [1, 2, 3]);
        }));
        Assert.Null(store.GetVolunteer("ab"));
        Assert.Equal(0, store.LedgerSize());
        // And the decision's write failing takes the entry with it.
        Assert.ThrowsAny<Exception>(() => store.Atomically(() =>
        {
            store.AppendLedgerEntry(0, [1, 2, 3]);
            store.AcceptUpdate(new UpdateRecord("u", "ab", 0, 0, [], [], "p", 0, 0, 0, 0) with { WorkUnitId = null! });
        }));
        Assert.Equal(0, store.LedgerSize());
    }

    [Fact]
    public void A_failed_round_commit_leaves_no_round_entry()
    {
        using var h = new EngineHarness();
        var volunteers = Enumerable.Range(0, h.Options.Quorum).Select(_ => h.Join()).ToList();
        foreach (var v in volunteers) v.Work();
        long size = h.Engine.Ledger.Size;
        // The checkpoint folder is replaced by a file: the close fails before anything commits, and so must its entry.
        string checkpoints = Path.Combine(h.Options.DataDirectory, "checkpoints");
        Directory.Delete(checkpoints, recursive: true);
        File.WriteAllText(checkpoints, "not a folder");
        Assert.ThrowsAny<Exception>(() => h.Engine.Tick());
        Assert.Equal(size, h.Engine.Ledger.Size);
        Assert.DoesNotContain(Entries(h), e => e.Kind == LedgerEntryKind.Round);
    }

    [Fact]
    public void An_independent_implementation_agrees_with_every_head_and_proof()
    {
        using var h = new EngineHarness();
        TrainOneRound(h);
        var ledger = h.Engine.Ledger;
        var head = ledger.Head();
        var entries = ledger.Entries(0, head.TreeSize);
        var inclusion = Enumerable.Range(0, (int)head.TreeSize)
            .Select(i => ((long)i, head.TreeSize, ledger.InclusionProof(i, head.TreeSize).Proof, (byte[]?)entries[i])).ToList();
        var consistency = Enumerable.Range(0, (int)head.TreeSize + 1)
            .Select(m => ((long)m, head.TreeSize, ledger.ConsistencyProof(m, head.TreeSize))).ToList();
        var (heads, inclusionOk, consistencyOk) = Rfc9162Reference.Check(entries, [(head.TreeSize, head.RootHash)], inclusion, consistency);
        Assert.Equal([true], heads);
        Assert.All(inclusionOk, Assert.True);
        Assert.All(consistencyOk, Assert.True);
        Assert.Equal(inclusion.Count, inclusionOk.Length);

        // The reference is not a rubber stamp: a proof for the wrong leaf, or a root off by one bit, is refused.
        var wrongRoot = head.RootHash.ToArray();
        wrongRoot[0] ^= 1;
        var (badHeads, badInclusion, _) = Rfc9162Reference.Check(entries, [(head.TreeSize, wrongRoot)],
            [(1L, head.TreeSize, ledger.InclusionProof(0, head.TreeSize).Proof, entries[1])]);
        Assert.Equal([false], badHeads);
        Assert.Equal([false], badInclusion);
    }
}
