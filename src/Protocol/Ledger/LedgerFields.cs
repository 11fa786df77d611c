namespace Hivemind.Protocol.Ledger;

/// <summary>Field names of ledger entries: one vocabulary for the coordinator that writes them and every auditor that reads them.</summary>
public static class LedgerFields
{
    /// <summary>Volunteer id (lowercase hex of its public key).</summary>
    public const string Volunteer = "volunteer";

    /// <summary>Ed25519 public key (join).</summary>
    public const string PublicKey = "public_key";

    public const string Device = "device";

    public const string MemoryBytes = "memory_bytes";

    /// <summary>Work unit id.</summary>
    public const string Unit = "unit";

    /// <summary>Coordinator-assigned id of an accepted update (SubmitReply.update_id).</summary>
    public const string Update = "update";

    public const string Round = "round";

    public const string Version = "version";

    public const string Shard = "shard";

    public const string Deadline = "deadline_unix_ms";

    /// <summary>Tokens the unit trained (the coordinator's number): the credit an accepted, verified update earns.</summary>
    public const string Tokens = "tokens";

    public const string PayloadBytes = "payload_bytes";

    public const string PayloadSha256 = "payload_sha256";

    /// <summary>SHA-256 of the signed envelope bytes.</summary>
    public const string EnvelopeSha256 = "envelope_sha256";

    public const string MeanLoss = "mean_loss";

    /// <summary>Stable reason token (reject) or free text (ban).</summary>
    public const string Reason = "reason";

    /// <summary>SHA-256 of the signed envelope kept as evidence (ban), when there is one.</summary>
    public const string EvidenceSha256 = "evidence_sha256";

    /// <summary>Round close: number of updates aggregated, and their work unit ids, comma-separated in aggregation order.</summary>
    public const string Updates = "updates";

    public const string Units = "units";

    public const string TrainLoss = "train_loss";

    /// <summary>SHA-256 of the new version's checkpoint file (safetensors).</summary>
    public const string ModelSha256 = "model_sha256";

    /// <summary>Prefix of the per-group summary fields of a round entry: <c>group/&lt;key&gt;</c>.</summary>
    public const string GroupPrefix = "group/";

    /// <summary>Spot check: 1 passed, 0 failed.</summary>
    public const string Passed = "passed";

    /// <summary>Spot check: who recomputed (e.g. "coordinator" or a volunteer id).</summary>
    public const string Checker = "checker";

    /// <summary>Spot check by a blind volunteer: the check unit it trained (its accepted update is verification work, not aggregated).</summary>
    public const string CheckUnit = "check_unit";
}
