using Hivemind.Protocol.Ledger;
using F = Hivemind.Protocol.Ledger.LedgerFields;

namespace Hivemind.Coordinator.Ledger;

/// <summary>
/// Audits a ledger from its entry bytes and two signed tree heads, trusting nothing but the coordinator's public key: both heads must
/// be signed by it, the entries must rebuild both roots (every entry hash re-verified, the old tree a prefix of the new), an optional
/// consistency proof from the coordinator must verify, and every volunteer's credit is recomputed from the entries alone.
/// </summary>
public static class LedgerAudit
{
    /// <param name="entries">Entry bytes from leaf 0 (at least <paramref name="newHead"/>'s size).</param>
    /// <param name="oldHead">An earlier head the auditor kept, or null (the empty tree).</param>
    /// <param name="newHead">The later head.</param>
    /// <param name="trustedKey">The coordinator's Ed25519 public key as the auditor knows it.</param>
    /// <param name="consistencyProof">The coordinator's consistency proof between the heads, when auditing a live coordinator.</param>
    public static LedgerAuditReport Run(IReadOnlyList<byte[]> entries, TreeHead? oldHead, TreeHead newHead, byte[] trustedKey,
        IReadOnlyList<byte[]>? consistencyProof = null)
    {
        var problems = new List<string>();
        long oldSize = oldHead?.TreeSize ?? 0, newSize = newHead.TreeSize;
        if (oldHead is not null && !oldHead.VerifySignature(trustedKey))
            problems.Add($"the old head ({oldHead}) is not signed by coordinator key {Hex(trustedKey)}");
        if (!newHead.VerifySignature(trustedKey))
            problems.Add($"the new head ({newHead}) is not signed by coordinator key {Hex(trustedKey)}");
        if (oldSize > newSize)
        {
            problems.Add($"the old head has {oldSize} entries, more than the new head's {newSize}: give the earlier head as --old-head");
            return new LedgerAuditReport(oldSize, newSize, problems, [], new Dictionary<string, int>());
        }
        if (entries.Count < newSize)
            problems.Add($"the log holds {entries.Count} entries but the new head covers {newSize}: entries were withheld or removed");

        var tree = new MerkleTree();
        foreach (var e in entries.Take((int)Math.Min(newSize, entries.Count))) tree.Append(MerkleHash.Leaf(e));
        if (tree.Size == newSize && !tree.Root(newSize).AsSpan().SequenceEqual(newHead.RootHash))
            problems.Add($"the entries do not hash to the new head's root at size {newSize}: a stored entry was altered, removed or reordered");
        if (oldHead is not null && tree.Size >= oldSize && !tree.Root(oldSize).AsSpan().SequenceEqual(oldHead.RootHash))
            problems.Add($"the first {oldSize} entries do not hash to the old head's root: the log was forked or rewritten after that head was signed");
        if (oldHead is not null && consistencyProof is not null &&
            !MerkleProofs.VerifyConsistency(oldSize, newSize, oldHead.RootHash, newHead.RootHash, consistencyProof))
            problems.Add($"the coordinator's consistency proof from size {oldSize} to {newSize} does not verify: the two signed heads are not one log (a fork)");

        var decoded = new List<LedgerEntry>();
        for (int i = 0; i < tree.Size; i++)
        {
            try
            {
                decoded.Add(LedgerEntry.Decode(entries[i]));
            }
            catch (InvalidDataException e)
            {
                problems.Add($"entry {i} is malformed ({e.Message})");
            }
        }
        var credits = Credit(decoded, problems);
        var byKind = decoded.GroupBy(e => KindName(e.Kind)).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new LedgerAuditReport(oldSize, newSize, problems, credits, byKind);
    }

    /// <summary>The entry kind as the audit table and README name it (e.g. spot-check).</summary>
    public static string KindName(LedgerEntryKind kind) => kind switch
    {
        LedgerEntryKind.SpotCheck => "spot-check",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Credit per volunteer from decoded entries (see <see cref="VolunteerCredit"/> for the rule); inconsistencies become problems.</summary>
    public static IReadOnlyList<VolunteerCredit> Credit(IReadOnlyList<LedgerEntry> entries, List<string> problems)
    {
        var rows = new SortedDictionary<string, VolunteerCredit>(StringComparer.Ordinal);
        VolunteerCredit Row(string id) => rows.TryGetValue(id, out var r) ? r : rows[id] = new VolunteerCredit(id);
        var accepted = new Dictionary<string, (string Volunteer, long Tokens, long Round)>(StringComparer.Ordinal);
        var settled = new HashSet<string>(StringComparer.Ordinal);
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var banned = new HashSet<string>(StringComparer.Ordinal);
        var closedRounds = new HashSet<long>();
        // Blind check units (volunteer mode) are verification work: never aggregated, credited once a check compared them.
        var checkUnits = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries.Where(e => e.Kind == LedgerEntryKind.SpotCheck))
        {
            if (e.Integer(F.Passed) == 0 && e.Text(F.Unit) is { } unit) failed.Add(unit);
            if (e.Text(F.CheckUnit) is { } check) checkUnits.Add(check);
        }

        foreach (var e in entries)
        {
            string? volunteer = e.Text(F.Volunteer);
            switch (e.Kind)
            {
                case LedgerEntryKind.Accept when volunteer is not null && e.Text(F.Unit) is { } unit:
                    if (!accepted.TryAdd(unit, (volunteer, e.Integer(F.Tokens) ?? 0, e.Integer(F.Round) ?? -1)))
                        problems.Add($"work unit {unit} is accepted twice");
                    Row(volunteer).Accepted++;
                    break;
                case LedgerEntryKind.Reject when volunteer is not null:
                    Row(volunteer).Rejections++;
                    break;
                case LedgerEntryKind.Ban when volunteer is not null:
                    banned.Add(volunteer);
                    Row(volunteer).Banned = true;
                    break;
                case LedgerEntryKind.SpotCheck when volunteer is not null:
                    if (e.Integer(F.Passed) == 0) Row(volunteer).ChecksFailed++;
                    else Row(volunteer).ChecksPassed++;
                    break;
                case LedgerEntryKind.Round when e.Integer(F.Round) is { } round:
                    closedRounds.Add(round);
                    string units = e.Text(F.Units) ?? "";
                    foreach (var unit in units.Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (!accepted.TryGetValue(unit, out var a))
                        {
                            problems.Add($"round {round} aggregates work unit {unit}, which no earlier entry accepted");
                            continue;
                        }
                        if (!settled.Add(unit))
                        {
                            problems.Add($"round {round} aggregates work unit {unit} a second time");
                            continue;
                        }
                        var row = Row(a.Volunteer);
                        if (failed.Contains(unit) || banned.Contains(a.Volunteer)) row.VoidedTokens += a.Tokens;
                        else row.CreditedTokens += a.Tokens;
                    }
                    break;
            }
        }
        foreach (var (unit, a) in accepted.Where(p => !settled.Contains(p.Key)))
        {
            // A blind check's unit that no check found wrong is verification work done; the checker's own failed check voids it.
            if (checkUnits.Contains(unit) && !failed.Contains(unit) && !banned.Contains(a.Volunteer)) Row(a.Volunteer).CreditedTokens += a.Tokens;
            // Accepted into a round that closed without it (dropped, e.g. after a ban), or still waiting for its round.
            else if (closedRounds.Contains(a.Round) || failed.Contains(unit)) Row(a.Volunteer).VoidedTokens += a.Tokens;
            else Row(a.Volunteer).PendingTokens += a.Tokens;
        }
        return rows.Values.ToList();
    }

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
