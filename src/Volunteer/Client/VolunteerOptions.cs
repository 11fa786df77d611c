using Hivemind.Volunteer.Behaviors;

namespace Hivemind.Volunteer.Client;

/// <summary>The volunteer's settings (each is a command-line flag).</summary>
public sealed record VolunteerOptions
{
    public string Coordinator { get; init; } = "http://127.0.0.1:5000";

    /// <summary>Ed25519 key file; created with owner-only permissions if missing.</summary>
    public string KeyFile { get; init; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".hivemind", "volunteer.key");

    /// <summary>auto, cpu or cuda (this build ships libtorch for CPU only; cuda needs a CUDA libtorch package).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Memory lent to training, in bytes; the coordinator sizes the shard from it.</summary>
    public long MemoryBytes { get; init; } = 4L << 30;

    /// <summary>RED-TEAM option; honest unless testing defences.</summary>
    public Behavior Behavior { get; init; } = Behavior.Honest;

    public string AdmissionToken { get; init; } = "";

    public string CacheDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "hivemind-cache");

    /// <summary>Stop after this many units (0 = until stopped).</summary>
    public int MaxUnits { get; init; }

    /// <summary>The coordinator's Ed25519 ledger key (32 bytes), pinned; null learns it at the first join (trust on first use).</summary>
    public byte[]? CoordinatorKey { get; init; }

    /// <summary>Real text (issue 13): fetch data slices from this mirror (http(s) URL or folder of SHA256.tokens files) instead of the coordinator; still verified against the unit's hash.</summary>
    public string? DataMirror { get; init; }

    /// <summary>
    /// Eager training (issue 16): after an accepted update, ask for the next round's unit at once and train it from the current version
    /// minus this volunteer's own update, instead of idling while the round closes (the coordinator must offer --eager-slots).
    /// </summary>
    public bool Eager { get; init; }

    /// <summary>libtorch intra-op threads.</summary>
    public int Threads { get; init; } = 1;
}
