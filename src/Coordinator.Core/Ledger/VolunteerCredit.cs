namespace Hivemind.Coordinator.Ledger;

/// <summary>
/// One volunteer's credit recomputed from the ledger alone (BOINC-style: only verified work counts). Credited tokens come from
/// accepted updates that a round aggregated, that no spot check failed and whose key was not banned before that round closed;
/// pending ones wait for their round; voided ones were accepted and later invalidated (failed check, ban, or dropped from the round).
/// </summary>
public sealed record VolunteerCredit(string VolunteerId)
{
    public int Accepted { get; set; }

    public long CreditedTokens { get; set; }

    public long PendingTokens { get; set; }

    public long VoidedTokens { get; set; }

    public int ChecksPassed { get; set; }

    public int ChecksFailed { get; set; }

    public int Rejections { get; set; }

    public bool Banned { get; set; }
}
