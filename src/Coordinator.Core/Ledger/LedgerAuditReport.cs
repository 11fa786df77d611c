namespace Hivemind.Coordinator.Ledger;

/// <summary>What <see cref="LedgerAudit"/> found: every problem (empty when the log checks out) and the credit table.</summary>
public sealed record LedgerAuditReport(long OldSize, long NewSize, IReadOnlyList<string> Problems, IReadOnlyList<VolunteerCredit> Credits,
    IReadOnlyDictionary<string, int> EntriesByKind)
{
    public bool Ok => Problems.Count == 0;
}
