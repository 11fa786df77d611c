using System.Globalization;
using System.Security.Cryptography;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Ledger;
using F = Hivemind.Protocol.Ledger.LedgerFields;

namespace Hivemind.Coordinator.Ledger;

/// <summary>The entry of each kind of decision: which fields, in which order (README, "The public ledger", lists them).</summary>
public static class LedgerEntries
{
    public static LedgerEntry Join(VolunteerRecord v, long atMs) => new(LedgerEntryKind.Join, atMs,
    [
        LedgerField.Of(F.Volunteer, v.Id), LedgerField.Of(F.PublicKey, v.PublicKey), LedgerField.Of(F.Device, v.Device),
        LedgerField.Of(F.MemoryBytes, v.MemoryBytes),
    ]);

    public static LedgerEntry Lease(WorkUnitRecord w) => new(LedgerEntryKind.Lease, w.IssuedAtMs,
    [
        LedgerField.Of(F.Volunteer, w.VolunteerId), LedgerField.Of(F.Unit, w.Id), LedgerField.Of(F.Round, w.Round),
        LedgerField.Of(F.Version, w.Version), LedgerField.Of(F.Shard, w.Shard), LedgerField.Of(F.Deadline, w.DeadlineMs),
    ]);

    /// <summary>An accepted update: <paramref name="payloadSha256"/> is the envelope's (checked against the bytes received).</summary>
    public static LedgerEntry Accept(UpdateRecord u, long updateId, byte[] payloadSha256) => new(LedgerEntryKind.Accept, u.AcceptedAtMs,
    [
        LedgerField.Of(F.Volunteer, u.VolunteerId), LedgerField.Of(F.Unit, u.WorkUnitId), LedgerField.Of(F.Update, updateId),
        LedgerField.Of(F.Round, u.Round), LedgerField.Of(F.Version, u.Version), LedgerField.Of(F.Tokens, u.Tokens),
        LedgerField.Of(F.PayloadBytes, u.PayloadBytes), LedgerField.Of(F.PayloadSha256, payloadSha256),
        LedgerField.Of(F.EnvelopeSha256, SHA256.HashData(u.Envelope)), LedgerField.Of(F.MeanLoss, u.Loss),
    ]);

    /// <summary>A rejection attributed to an authenticated volunteer (anonymous junk is only counted, never logged: it decides nothing about anyone).</summary>
    public static LedgerEntry Reject(string volunteerId, string reasonToken, long atMs) => new(LedgerEntryKind.Reject, atMs,
        [LedgerField.Of(F.Volunteer, volunteerId), LedgerField.Of(F.Reason, reasonToken)]);

    public static LedgerEntry Ban(string volunteerId, string reason, byte[]? evidenceEnvelope, long atMs)
    {
        var fields = new List<LedgerField> { LedgerField.Of(F.Volunteer, volunteerId), LedgerField.Of(F.Reason, reason) };
        if (evidenceEnvelope is not null) fields.Add(LedgerField.Of(F.EvidenceSha256, SHA256.HashData(evidenceEnvelope)));
        return new LedgerEntry(LedgerEntryKind.Ban, atMs, fields);
    }

    /// <summary>
    /// A closed round: the updates aggregated (work unit ids in aggregation order), one summary per tensor group
    /// (<c>group/&lt;key&gt;</c> = "holders=N norm=X" or "skipped"), and SHA-256 of the new version's checkpoint file.
    /// </summary>
    public static LedgerEntry Round(long round, long newVersion, IReadOnlyList<string> units, double trainLoss,
        IReadOnlyList<(string Group, string Summary)> groups, byte[] modelSha256, long atMs)
    {
        var fields = new List<LedgerField>
        {
            LedgerField.Of(F.Round, round), LedgerField.Of(F.Version, newVersion), LedgerField.Of(F.Updates, (long)units.Count),
            LedgerField.Of(F.Units, string.Join(',', units)), LedgerField.Of(F.TrainLoss, trainLoss), LedgerField.Of(F.ModelSha256, modelSha256),
        };
        fields.AddRange(groups.Select(g => LedgerField.Of(F.GroupPrefix + g.Group, g.Summary)));
        return new LedgerEntry(LedgerEntryKind.Round, atMs, fields);
    }

    /// <summary>
    /// A spot check's result (issue 12 items 1-3 write it): which update, who recomputed, pass or fail, and the comparison's metrics
    /// (e.g. "rel_l2/trunk" = 0.003). A failed check voids the update's credit in <c>hivemind audit</c>.
    /// </summary>
    public static LedgerEntry SpotCheck(string volunteerId, string workUnitId, long updateId, bool passed, string checker,
        IReadOnlyDictionary<string, double> metrics, long atMs, string? checkUnit = null)
    {
        var fields = new List<LedgerField>
        {
            LedgerField.Of(F.Volunteer, volunteerId), LedgerField.Of(F.Unit, workUnitId), LedgerField.Of(F.Update, updateId),
            LedgerField.Of(F.Passed, passed ? 1L : 0L), LedgerField.Of(F.Checker, checker),
        };
        if (checkUnit is not null) fields.Add(LedgerField.Of(F.CheckUnit, checkUnit));
        fields.AddRange(metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => LedgerField.Of(m.Key, m.Value)));
        return new LedgerEntry(LedgerEntryKind.SpotCheck, atMs, fields);
    }

    /// <summary>The summary text of one aggregated tensor group.</summary>
    public static string GroupSummary(int holders, double aggregateNorm) =>
        string.Create(CultureInfo.InvariantCulture, $"holders={holders} norm={aggregateNorm:R}");
}
