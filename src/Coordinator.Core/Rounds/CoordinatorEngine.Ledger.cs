using System.Security.Cryptography;
using Hivemind.Coordinator.Ledger;
using Hivemind.Coordinator.Rounds.Closing;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// The public ledger (issue 12): each decision's store write and its <see cref="LedgerEntry"/> commit in one transaction. The other
/// seams call one of these helpers where they decide, instead of writing the store directly.
/// </summary>
public sealed partial class CoordinatorEngine
{
    private readonly DecisionLedger _ledger;

    /// <summary>The decision log: signed tree heads, receipts, proofs and entries for the Ledger service and audits.</summary>
    public DecisionLedger Ledger => _ledger;

    /// <summary>
    /// Records a decision taken outside the engine's own seams (e.g. a spot check's result, <see cref="LedgerEntries.SpotCheck"/>):
    /// <paramref name="write"/> (its store writes, if any) and the entry commit together.
    /// </summary>
    public void RecordDecision(LedgerEntry entry, Action? write = null) => _ledger.Record(write ?? (() => { }), entry);

    private long RecordAccept(UpdateRecord u, byte[] payloadSha256) =>
        _ledger.Record(() => _store.AcceptUpdate(u), seq => LedgerEntries.Accept(u, seq, payloadSha256));

    /// <summary>Counts the rejection; one attributed to an authenticated volunteer is also a ledger entry.</summary>
    private void RecordRejectionEntry(string? volunteerId, string reasonToken)
    {
        if (volunteerId is null) _store.CountRejection(reasonToken);
        else _ledger.Record(() => _store.CountRejection(reasonToken), LedgerEntries.Reject(volunteerId, reasonToken, NowMs()));
    }

    private void RecordBan(string volunteerId, string reason, byte[]? envelope, byte[]? signature)
    {
        long now = NowMs();
        _ledger.Record(() => _store.Ban(volunteerId, reason, now, envelope, signature), LedgerEntries.Ban(volunteerId, reason, envelope, now));
    }

    /// <summary>
    /// Commits a round close (<paramref name="commit"/>, the store's write) with its entry: the updates aggregated, a summary per tensor
    /// group of the decision's delta and the SHA-256 of the new checkpoint. Caller holds the lock.
    /// </summary>
    private void RecordRound(long round, long next, double trainLoss, string checkpoint, RoundDecision decision, IReadOnlyList<AcceptedUpdate> accepted, Action commit)
    {
        var ordered = accepted.OrderBy(u => u.Record.Version).ThenBy(u => u.UnitIndex).ToList();
        // The decision's own account of each group (holders after the probation share), not a recount that could disagree with it.
        var groups = new List<(string, string)>();
        foreach (var group in decision.Groups)
        {
            if (!group.Updated)
            {
                groups.Add((group.Key, $"holders={group.Holders} skipped"));
                continue;
            }
            double sumOfSquares = 0;
            foreach (var name in _groups.NamesOf(group.Key)) sumOfSquares += SumOfSquares(decision.Delta[name].Values);
            groups.Add((group.Key, LedgerEntries.GroupSummary(group.Holders, Math.Sqrt(sumOfSquares))));
        }
        byte[] model;
        using (var file = File.OpenRead(checkpoint)) model = SHA256.HashData(file);
        var entry = LedgerEntries.Round(round, next, ordered.Select(u => u.Record.WorkUnitId).ToList(), trainLoss, groups, model, NowMs());
        _ledger.Record(commit, entry);
    }

    private static double SumOfSquares(float[] values)
    {
        double sum = 0;
        foreach (float x in values) sum += (double)x * x;
        return sum;
    }
}
