using Hivemind.Coordinator.Ledger;
using Hivemind.Coordinator.Tests.Cli;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Ledger;
using Microsoft.Data.Sqlite;
using F = Hivemind.Protocol.Ledger.LedgerFields;

namespace Hivemind.Coordinator.Tests.Ledger;

/// <summary><c>audit</c> against an altered store, a forked log and a clean one; the credit rule on a hand-written log.</summary>
public sealed class LedgerAuditTests
{
    private static string Db(EngineHarness h) => Path.Combine(h.Options.DataDirectory, "coordinator.db");

    /// <summary>Flips one bit of the stored bytes of leaf <paramref name="leaf"/>, directly in SQLite, as an attacker with the disk would.</summary>
    private static void FlipStoredByte(string db, long leaf, int offset)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
        connection.Open();
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT entry FROM ledger WHERE leaf_index = $i";
        read.Parameters.AddWithValue("$i", leaf);
        var entry = (byte[])read.ExecuteScalar()!;
        entry[offset % entry.Length] ^= 0x01;
        using var write = connection.CreateCommand();
        write.CommandText = "UPDATE ledger SET entry = $e WHERE leaf_index = $i";
        write.Parameters.AddWithValue("$e", entry);
        write.Parameters.AddWithValue("$i", leaf);
        Assert.Equal(1, write.ExecuteNonQuery());
    }

    [Fact]
    public void Flipping_a_byte_of_any_stored_entry_is_detected()
    {
        using var h = new EngineHarness();
        LedgerEngineTests.TrainOneRound(h);
        var kept = h.Engine.Ledger.Head(); // what volunteers and auditors hold
        long size = kept.TreeSize;
        h.Engine.Dispose();
        string export = Path.Combine(h.Scratch, "export.json");
        for (long leaf = 0; leaf < size; leaf++)
        {
            int offset = (int)(leaf * 7 + 11); // a different position in each entry: header, names and values all get hit
            FlipStoredByte(Db(h), leaf, offset);
            var fresh = LedgerFiles.ExportDataDirectory(h.Options.DataDirectory, export, h.Time);
            var (_, entries) = LedgerFiles.ReadExport(export);
            // Against the head given out before the change, and against the fresh head the altered store signs now.
            var againstKept = LedgerAudit.Run(entries, null, kept, kept.PublicKey);
            var againstBoth = LedgerAudit.Run(entries, kept, fresh, kept.PublicKey);
            Assert.False(againstKept.Ok, $"altered leaf {leaf} passed the audit against the kept head");
            Assert.Contains(againstKept.Problems, p => p.Contains("do not hash to the new head's root", StringComparison.Ordinal));
            Assert.False(againstBoth.Ok, $"altered leaf {leaf} passed the audit between the kept and a fresh head");
            Assert.Contains(againstBoth.Problems, p => p.Contains("forked or rewritten", StringComparison.Ordinal));
            FlipStoredByte(Db(h), leaf, offset);
        }
        // Restored byte for byte: the same store passes (so the failures above came from the flips).
        var clean = LedgerFiles.ExportDataDirectory(h.Options.DataDirectory, export, h.Time);
        var (_, cleanEntries) = LedgerFiles.ReadExport(export);
        Assert.True(LedgerAudit.Run(cleanEntries, kept, clean, kept.PublicKey).Ok);
    }

    [Fact]
    public async Task The_audit_command_passes_a_clean_log_and_fails_an_altered_one()
    {
        using var h = new EngineHarness();
        LedgerEngineTests.TrainOneRound(h);
        string headFile = Path.Combine(h.Scratch, "head.json");
        LedgerFiles.WriteHead(headFile, h.Engine.Ledger.Head());
        string key = Convert.ToHexString(h.Engine.Ledger.PublicKey).ToLowerInvariant();
        h.Engine.Dispose();
        string export = Path.Combine(h.Scratch, "export.json");

        var exported = await CliRun.RunAsync("export-ledger", "--data-directory", h.Options.DataDirectory, "--output", export);
        Assert.Equal(0, exported.ExitCode);
        var clean = await CliRun.RunAsync("audit", "--ledger", export, "--old-head", headFile, "--coordinator-key", key);
        Assert.Equal(0, clean.ExitCode);
        Assert.Contains("AUDIT OK", clean.Out);
        // The credit table: each of the four volunteers trained one aggregated unit.
        long tokens = h.Engine.ExpectedTokens;
        Assert.Equal(4, clean.Out.Split('\n').Count(l => l.Contains($" {tokens} ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("no", StringComparison.Ordinal)));

        FlipStoredByte(Db(h), 5, 30);
        Assert.Equal(0, (await CliRun.RunAsync("export-ledger", "--data-directory", h.Options.DataDirectory, "--output", export)).ExitCode);
        var altered = await CliRun.RunAsync("audit", "--ledger", export, "--old-head", headFile, "--coordinator-key", key);
        Assert.Equal(AuditFailedExitCode, altered.ExitCode);
        Assert.Contains("AUDIT FAILED", altered.Error);

        // A head signed by another key is worth nothing.
        using var other = Protocol.Identity.VolunteerIdentity.Create();
        var wrongKey = await CliRun.RunAsync("audit", "--ledger", export, "--coordinator-key", Convert.ToHexString(other.PublicKey));
        Assert.Equal(AuditFailedExitCode, wrongKey.ExitCode);
        Assert.Contains("not signed by coordinator key", wrongKey.Error);
    }

    private const int AuditFailedExitCode = Hosting.AuditCommand.AuditFailedExitCode;

    [Fact]
    public async Task Bad_audit_arguments_are_refused_with_the_fix()
    {
        var neither = await CliRun.RunAsync("audit");
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("exactly one of --coordinator", neither.Error);
        var badKey = await CliRun.RunAsync("audit", "--ledger", "x.json", "--coordinator-key", "zz");
        Assert.Equal(2, badKey.ExitCode);
        Assert.Contains("--coordinator-key 'zz'", badKey.Error);
        var volunteerKey = await CliRun.RunAsync("volunteer", "--coordinator-key", "abcd");
        Assert.Equal(2, volunteerKey.ExitCode);
        Assert.Contains("--coordinator-key 'abcd'", volunteerKey.Error);
        var missing = await CliRun.RunAsync("audit", "--ledger", Path.Combine(Path.GetTempPath(), "no-such-export.json"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Error);
    }

    [Fact]
    public void A_forked_log_is_detected()
    {
        using var h = new EngineHarness();
        LedgerEngineTests.TrainOneRound(h);
        h.Engine.Dispose();
        // Two copies of one coordinator (same key) that go on differently: the fork a coordinator could show to two audiences.
        string forkDir = Path.Combine(h.Scratch, "fork");
        Directory.CreateDirectory(forkDir);
        foreach (var file in Directory.EnumerateFiles(h.Options.DataDirectory)) File.Copy(file, Path.Combine(forkDir, Path.GetFileName(file)));
        Directory.CreateDirectory(Path.Combine(forkDir, "checkpoints"));
        foreach (var file in Directory.EnumerateFiles(Path.Combine(h.Options.DataDirectory, "checkpoints")))
            File.Copy(file, Path.Combine(forkDir, "checkpoints", Path.GetFileName(file)));
        h.Restart();
        using var fork = new EngineHarness(dataDirectory: forkDir);
        Assert.Equal(h.Engine.Ledger.PublicKey, fork.Engine.Ledger.PublicKey);

        h.Join(); // audience A sees one join
        var headA = h.Engine.Ledger.Head();
        fork.Join(); // audience B sees two other joins
        fork.Join();
        var headB = fork.Engine.Ledger.Head();
        Assert.True(headA.VerifySignature(headA.PublicKey) && headB.VerifySignature(headA.PublicKey));

        var entriesB = fork.Engine.Ledger.Entries(0, headB.TreeSize);
        var proof = fork.Engine.Ledger.ConsistencyProof(headA.TreeSize, headB.TreeSize);
        var report = LedgerAudit.Run(entriesB, headA, headB, headA.PublicKey, proof);
        Assert.False(report.Ok);
        Assert.Contains(report.Problems, p => p.Contains("not one log (a fork)", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Contains("forked or rewritten", StringComparison.Ordinal));
        // Each branch on its own is a consistent log.
        Assert.True(LedgerAudit.Run(entriesB, null, headB, headB.PublicKey).Ok);
    }

    [Fact]
    public void Credit_counts_only_aggregated_unvoided_work()
    {
        static LedgerEntry Accept(string v, string unit, long round) => new(LedgerEntryKind.Accept, 0,
            [LedgerField.Of(F.Volunteer, v), LedgerField.Of(F.Unit, unit), LedgerField.Of(F.Round, round), LedgerField.Of(F.Tokens, 100L)]);
        static LedgerEntry Round(long round, params string[] units) => new(LedgerEntryKind.Round, 0,
            [LedgerField.Of(F.Round, round), LedgerField.Of(F.Units, string.Join(',', units))]);
        static LedgerEntry Check(string v, string unit, bool passed) => new(LedgerEntryKind.SpotCheck, 0,
            [LedgerField.Of(F.Volunteer, v), LedgerField.Of(F.Unit, unit), LedgerField.Of(F.Passed, passed ? 1L : 0L)]);
        var log = new List<LedgerEntry>
        {
            Accept("honest", "u1", 0), Accept("cheat", "u2", 0), Accept("late", "u3", 0), Accept("banned", "u4", 0),
            Check("honest", "u1", passed: true),
            new(LedgerEntryKind.Ban, 0, [LedgerField.Of(F.Volunteer, "banned"), LedgerField.Of(F.Reason, "failed check")]),
            Round(0, "u1", "u2", "u4"),          // u3 was accepted into round 0 but not aggregated: dropped
            Check("cheat", "u2", passed: false), // a failed check after aggregation still voids the credit
            Accept("honest", "u5", 1),           // round 1 is still open: pending
        };
        var problems = new List<string>();
        var credit = LedgerAudit.Credit(log, problems).ToDictionary(c => c.VolunteerId);
        Assert.Empty(problems);
        Assert.Equal((200L, 100L, 0L), (credit["honest"].CreditedTokens + credit["honest"].PendingTokens, credit["honest"].PendingTokens, credit["honest"].VoidedTokens));
        Assert.Equal(100, credit["honest"].CreditedTokens);
        Assert.Equal((0L, 100L), (credit["cheat"].CreditedTokens, credit["cheat"].VoidedTokens));
        Assert.Equal((0L, 100L), (credit["late"].CreditedTokens, credit["late"].VoidedTokens));
        Assert.Equal((0L, 100L, true), (credit["banned"].CreditedTokens, credit["banned"].VoidedTokens, credit["banned"].Banned));
        Assert.Equal((1, 1), (credit["honest"].ChecksPassed, credit["cheat"].ChecksFailed));

        // A round that names work nobody accepted is an inconsistency the audit reports.
        LedgerAudit.Credit([Round(0, "ghost")], problems);
        Assert.Contains(problems, p => p.Contains("ghost", StringComparison.Ordinal));
    }
}
