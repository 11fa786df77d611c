namespace Hivemind.Coordinator;

/// <summary>Every coordinator setting, with the default a first run should use. Each is also a command-line flag.</summary>
public sealed record CoordinatorOptions
{
    /// <summary>Folder for the SQLite store, checkpoints and accepted update payloads.</summary>
    public string DataDirectory { get; init; } = "./hivemind-data";

    /// <summary>Model preset (tiny, small, base).</summary>
    public string Preset { get; init; } = "small";

    /// <summary>Seed of θ_0 and of the synthetic corpus.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Markov order of the synthetic corpus's domains: 1 is learnable in minutes, 2 (default) needs attention to the byte before.</summary>
    public int CorpusOrder { get; init; } = 2;

    /// <summary>
    /// Robust aggregation spec for the trunk, e.g. <c>nnm(f=1) | trimmed-mean(f=1)</c>. The default, coordinate-wise median, tolerates
    /// f = 1 Byzantine input at the default quorum of 3 (every coordinate of the step lies between two honest values).
    /// </summary>
    public string TrunkRule { get; init; } = "median";

    /// <summary>Robust aggregation spec for each expert (fewer inputs: its holders only; groups with fewer than <see cref="MinExpertHolders"/> are skipped).</summary>
    public string ExpertRule { get; init; } = "median";

    /// <summary>
    /// An expert group is aggregated only when at least this many volunteers updated it in the round (2f + 1 for the median's f = 1);
    /// otherwise it is left as it is and the round log names it. 1 aggregates whatever arrives.
    /// </summary>
    public int MinExpertHolders { get; init; } = 3;

    /// <summary>
    /// Target holders per expert per round, so its aggregate can be robust. The planner fills the least-covered experts
    /// first, so coverage reaches this when quorum × experts-per-shard ≥ replication × experts; rounds that fall short
    /// are logged and counted (RoundSummary.UnderReplicatedGroups), and a robust rule that needs more inputs skips the group.
    /// </summary>
    public int Replication { get; init; } = 3;

    /// <summary>The round closes as soon as this many updates are accepted.</summary>
    public int Quorum { get; init; } = 3;

    /// <summary>The round closes at this deadline if it has at least <see cref="MinUpdates"/>; otherwise it is extended.</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Fewest accepted updates a round may close with at its deadline.</summary>
    public int MinUpdates { get; init; } = 1;

    /// <summary>How long a volunteer has to return a work unit; after that the unit is reissued.
    /// Raise it for slow devices or large H.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// Volunteers heartbeat this often while training. A session silent for 3 intervals expires (unless its volunteer holds a live
    /// lease); each heartbeat moves its lease's deadline to at least 3 intervals ahead, up to <see cref="MaxLeaseDuration"/> after issue.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Longest a lease can be kept alive by heartbeats, from its issue; must be at least <see cref="LeaseDuration"/>.</summary>
    public TimeSpan MaxLeaseDuration { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Times a volunteer may download the parameters of one leased unit (retries after a broken download).</summary>
    public int MaxDownloadsPerLease { get; init; } = 3;

    /// <summary>Inner steps per work unit (H). H = 1 is classic synchronous SGD; larger H cuts traffic about H-fold.</summary>
    public int InnerSteps { get; init; } = 20;

    public int BatchSize { get; init; } = 8;

    public int SequenceLength { get; init; } = 64;

    public double InnerLearningRate { get; init; } = 3e-3;

    public double WeightDecay { get; init; } = 0.01;

    public int WarmupSteps { get; init; } = 5;

    public double ClipNorm { get; init; } = 1.0;

    /// <summary>DiLoCo outer optimizer: SGD with Nesterov momentum.</summary>
    public double OuterLearningRate { get; init; } = 0.7;

    public double OuterMomentum { get; init; } = 0.9;

    /// <summary>Codec volunteers must use for updates: fp32, fp16, int8, or the sparse topk4 / topk2 (see <see cref="CodecDensity"/>).</summary>
    public string Codec { get; init; } = "fp16";

    /// <summary>Absolute ceiling: an update whose L2 norm over a tensor group exceeds this is rejected (NormTooLarge) and costs reputation.</summary>
    public double MaxUpdateNorm { get; init; } = 1e3;

    /// <summary>
    /// Running bound: once a few keys were heard, a tensor group's norm above this many times the median over keys of each key's latest
    /// verified norm (trunk and experts apart; see NormHistory) is rejected (NormTooLarge, no reputation cost: honest training can spike). 0 disables it.
    /// </summary>
    public double NormBoundFactor { get; init; } = 4;

    /// <summary>Stop after this many rounds (0 = run until stopped).</summary>
    public int MaxRounds { get; init; }

    /// <summary>Held-out batches evaluated after each round (0 disables evaluation).</summary>
    public int EvalBatches { get; init; } = 4;

    /// <summary>Admission token; empty means open admission.</summary>
    public string AdmissionToken { get; init; } = "";

    /// <summary>Joins accepted per minute from one source address, counted only for joins whose token and signature verified.</summary>
    public int JoinsPerMinute { get; init; } = 20;

    /// <summary>
    /// Everyone who asks for work within this window enters a draw for the round's free slots (at random, from a CSPRNG-seeded
    /// generator), so polling faster wins nothing. 0 is first-come, first-served (tests and simulations).
    /// </summary>
    public TimeSpan ParticipantDrawWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Keys below <see cref="ProbationReputation"/> are on probation: together they get at most this many units of a round, plus
    /// whatever slots the established volunteers active at the draw cannot fill (so a new crowd can still start training).
    /// </summary>
    public int ProbationSlots { get; init; } = 1;

    /// <summary>Reputation at which a key leaves probation (accepted, useful updates earn 0.25 each; zero or no-progress updates earn nothing).</summary>
    public double ProbationReputation { get; init; } = 1.0;

    /// <summary>Most experts per MoE layer one key may hold in a shard (0 = as many as its memory allows).</summary>
    public int MaxExpertsPerKey { get; init; }

    /// <summary>Seed the shard planner, the draw and the spot-check draw from <see cref="Seed"/> instead of a CSPRNG: reproducible runs for simulations and tests only.</summary>
    public bool DeterministicPlanning { get; init; }

    /// <summary>An update stream silent for this long is dropped (too-slow); it is also the grace before <see cref="SubmitMinimumBytesPerSecond"/> applies.</summary>
    public TimeSpan SubmitIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>An update stream averaging fewer bytes per second than this after the grace period is dropped (too-slow).</summary>
    public long SubmitMinimumBytesPerSecond { get; init; } = 32 << 10;

    /// <summary>Payload bytes the coordinator receives at once, over all streams (memory bound); beyond it submissions are told to retry.</summary>
    public long MaxReceivingBytes { get; init; } = 2L << 30;

    /// <summary>Reputation below this bans the volunteer.</summary>
    public double BanThreshold { get; init; } = -3.0;

    /// <summary>
    /// Bounded staleness: an update trained from version v is still accepted (into the current round) while the
    /// current round is at most v + this. 0 (default) is synchronous DiLoCo: late updates are rejected as stale.
    /// </summary>
    public int MaxStaleness { get; init; }

    /// <summary>libtorch threads the coordinator uses for evaluation.</summary>
    public int TorchThreads { get; init; } = 1;

    /// <summary>Work units leased beyond the quorum, so that one straggler does not hold up the round (0 makes runs reproducible).</summary>
    public int SpareLeases { get; init; } = 1;

    // ---- Spot checks (issue 12, verified work): a secret random sample of accepted updates is re-run and compared ----

    /// <summary>
    /// Chance that an accepted update of an established key is recomputed and compared (on by default: a cheat that passes every
    /// other check is caught only here). 0 with <see cref="SpotCheckProbationProbability"/> 0 turns spot checks off, warned at start.
    /// </summary>
    public double SpotCheckProbability { get; init; } = 0.05;

    /// <summary>The same chance for a key on probation (new keys are checked more often until they have passed <see cref="SpotCheckProbationPasses"/> checks).</summary>
    public double SpotCheckProbationProbability { get; init; } = 0.25;

    /// <summary>Passed spot checks a key needs, besides <see cref="ProbationReputation"/>, to leave probation (when spot checks are on).</summary>
    public int SpotCheckProbationPasses { get; init; } = 2;

    /// <summary>Checks waiting to run at once; a check drawn while the queue is full is skipped (recorded, logged), never blocking a submission.</summary>
    public int SpotCheckQueueCapacity { get; init; } = 16;

    /// <summary>A recomputation fails when any tensor group's relative L2 distance exceeds this (calibrated in docs/verification.md).</summary>
    public double SpotCheckMaxRelativeL2 { get; init; } = 1e-3;

    /// <summary>A recomputation fails when any tensor group's cosine with the claim is below this (calibrated in docs/verification.md).</summary>
    public double SpotCheckMinCosine { get; init; } = 0.9999;

    // ---- Blind spot checks by another volunteer (issue 12, item 1's second option) ----

    /// <summary>
    /// Who recomputes a drawn check: "coordinator" (default: its own trainer, trusted, nothing leaves the coordinator) or "volunteer"
    /// (the unit is leased blind, as an ordinary-looking unit, to another reputable key; a disagreement is settled by the coordinator's
    /// own recomputation, and a check no volunteer returns falls back to it). docs/verification.md compares the two.
    /// </summary>
    public string SpotCheckMode { get; init; } = SpotCheckModes.Coordinator;

    /// <summary>Volunteer mode: a checker must have joined from another address than the checked key (off only where every volunteer shares one, e.g. loopback tests).</summary>
    public bool SpotCheckDistinctSource { get; init; } = true;

    // ---- Real text (issue 13) ----

    /// <summary>
    /// Corpus folder to train on (train.tokens/.idx and held-out.tokens/.idx, as scripts/build-mini-pile.sh writes); its training
    /// tokens are served to volunteers as content-addressed slices. Empty (default): the synthetic corpus.
    /// </summary>
    public string Data { get; init; } = "";

    // Sparse low-bit updates and small downloads (issue 16).

    /// <summary>Fraction of each block's values the topk4 / topk2 update codecs keep (0.01..0.03 is typical; whole values per 256).</summary>
    public double CodecDensity { get; init; } = 0.02;

    /// <summary>
    /// How versions reach volunteers: "full" (the fp32 shard each time) or "int8" / "fp16" / "topk4" / "topk2": every new version is defined
    /// as the previous one plus an encoded step, and a volunteer that holds a recent version downloads only the steps since.
    /// </summary>
    public string DownloadCodec { get; init; } = "full";

    /// <summary>Fraction of each block's values a top-k step download keeps (the step's error feedback stays on the coordinator).</summary>
    public double DownloadDensity { get; init; } = 0.03;

    /// <summary>Steps kept for small downloads; a volunteer further behind (or new) downloads the full shard.</summary>
    public int MaxDownloadSteps { get; init; } = 16;

    // ---- First downloads from the seed (issue 16, s9seed) ----

    /// <summary>
    /// Put θ_0's seed (<see cref="Seed"/>) in every work unit, so a newcomer rebuilds version 0 of its shard locally and downloads only the
    /// steps since (or nothing at version 0); it trusts the result only when its hash is the unit's. Turn off for a run whose θ_0 is not
    /// ModelInit.Initialize(model, Seed).
    /// </summary>
    public bool SeedDownloads { get; init; } = true;

    // ---- Load (issue 9's 1,000-volunteer load test): group commit of joins, admission control, crowd-scaled polling ----

    /// <summary>Joins waiting for their durable commit at most; beyond it a verified join is answered `unavailable` at once, with retry advice.</summary>
    public int MaxPendingJoins { get; init; } = 512;

    /// <summary>Joins made durable in one transaction (one fsync) at most: group commit.</summary>
    public int JoinCommitBatch { get; init; } = 128;

    /// <summary>
    /// RequestWork calls per second the waiting crowd is spread over: a "no work" reply tells each volunteer to come back after about
    /// active volunteers ÷ this (never less than the busy retry), with jitter, and its session stays live for that long.
    /// </summary>
    public int WorkPollsPerSecond { get; init; } = 200;

    // ---- Eager (one-step-delayed) outer update, issue 16 item 3 ----

    /// <summary>
    /// Units of the next round the coordinator may lease, while a round closes, to volunteers that ask eagerly (WorkRequest.eager) and whose
    /// update to the open round it accepted: each trains from the current version minus the volunteer's own update (same shard) and is
    /// aggregated one version late, so it needs <see cref="MaxStaleness"/> ≥ 1. These units skip the participant draw; 0 (default) is off.
    /// </summary>
    public int EagerSlots { get; init; }

    // ---- Round-close parallelism (issue 9's lease tail): the close's parallel work leaves the RPC handlers a core ----

    /// <summary>
    /// Most cores the round close's parallel work (aggregation kernels, pre-aggregators, input checks, the checkpoint's writes) may use
    /// at once. The default is one core fewer than the machine (at least 1), so lease, heartbeat and submit calls never queue behind a
    /// close that took every core; the simulator, which answers no calls, sets every core.
    /// </summary>
    public int CloseParallelism { get; init; } = DefaultCloseParallelism;

    /// <summary>One core fewer than this machine has, and at least one.</summary>
    public static int DefaultCloseParallelism => Math.Max(1, Environment.ProcessorCount - 1);

    // ---- s8matrix: a store without per-unit durability, for simulations (issue 15) ----

    /// <summary>
    /// Every acknowledged write is on disk before the call returns (the default, and the only setting for a real coordinator). False
    /// keeps the SQLite store in memory and skips the fsyncs of accepted payloads and their folders: for the simulator and benchmarks,
    /// which need no crash safety (a crash loses the run). Decisions, ledger and results are the same either way.
    /// </summary>
    public bool Durable { get; init; } = true;

    /// <summary>Throws with a message naming the first bad value and the fix.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }

        Require(CorpusOrder is >= 1 and <= 4, $"corpus-order {CorpusOrder} must be between 1 and 4.");
        Require(Replication >= 1, $"replication {Replication} must be at least 1.");
        Require(Quorum >= 1, $"quorum {Quorum} must be at least 1.");
        Require(MinUpdates >= 1 && MinUpdates <= Quorum, $"min-updates {MinUpdates} must be between 1 and the quorum ({Quorum}).");
        Require(InnerSteps >= 1, $"inner-steps {InnerSteps} must be at least 1.");
        Require(BatchSize >= 1 && SequenceLength >= 2, $"batch-size {BatchSize} and sequence-length {SequenceLength} must be at least 1 and 2.");
        Require(RoundTimeout > TimeSpan.Zero && LeaseDuration > TimeSpan.Zero, $"round-timeout {RoundTimeout.TotalSeconds} s and lease-duration {LeaseDuration.TotalSeconds} s must be positive.");
        Require(Codec is "fp32" or "fp16" or "int8" or "topk4" or "topk2", $"codec '{Codec}' is not one of fp32, fp16, int8, topk4, topk2.");
        Require(CodecDensity is > 0 and <= 0.25, $"codec-density {CodecDensity} must be in (0, 0.25] (0.02 keeps 2%).");
        Require(DownloadCodec is "full" or "int8" or "fp16" or "topk4" or "topk2", $"download-codec '{DownloadCodec}' is not one of full, int8, fp16, topk4, topk2.");
        Require(DownloadDensity is > 0 and <= 0.25, $"download-density {DownloadDensity} must be in (0, 0.25] (0.03 keeps 3%).");
        Require(MaxDownloadSteps >= 1, $"max-download-steps {MaxDownloadSteps} must be at least 1.");
        Require(OuterLearningRate > 0 && OuterMomentum is >= 0 and < 1, $"outer-learning-rate {OuterLearningRate} must be > 0 and outer-momentum {OuterMomentum} in [0, 1).");
        Require(MaxUpdateNorm > 0, $"max-update-norm {MaxUpdateNorm} must be positive.");
        Require(MaxStaleness >= 0, $"max-staleness {MaxStaleness} must not be negative.");
        Require(SpareLeases >= 0, $"spare-leases {SpareLeases} must not be negative.");
        Require(EagerSlots >= 0 && EagerSlots <= Quorum + SpareLeases, $"eager-slots {EagerSlots} must be between 0 (off) and the units of a round (quorum + spare-leases = {Quorum + SpareLeases}).");
        Require(EagerSlots == 0 || MaxStaleness >= 1, $"eager-slots {EagerSlots} needs --max-staleness 1 or more: an eager unit trains from the version before the round it joins; set --max-staleness 1 or --eager-slots 0.");
        Require(JoinsPerMinute >= 1, $"joins-per-minute {JoinsPerMinute} must be at least 1.");
        Require(MaxPendingJoins >= 1 && JoinCommitBatch >= 1, $"max-pending-joins {MaxPendingJoins} and join-commit-batch {JoinCommitBatch} must be at least 1.");
        Require(WorkPollsPerSecond >= 1, $"work-polls-per-second {WorkPollsPerSecond} must be at least 1.");
        Require(MinExpertHolders >= 1, $"min-expert-holders {MinExpertHolders} must be at least 1.");
        Require(CloseParallelism >= 1, $"close-parallelism {CloseParallelism} must be at least 1 (the default, {DefaultCloseParallelism}, is one core fewer than this machine has).");
        Require(HeartbeatInterval > TimeSpan.Zero, "heartbeat-interval must be a positive duration.");
        Require(MaxLeaseDuration >= LeaseDuration, $"max-lease-duration ({MaxLeaseDuration.TotalSeconds} s) must be at least lease-duration ({LeaseDuration.TotalSeconds} s).");
        Require(MaxDownloadsPerLease >= 1, $"max-downloads-per-lease {MaxDownloadsPerLease} must be at least 1.");
        Require(NormBoundFactor == 0 || NormBoundFactor >= 1, $"norm-bound-factor {NormBoundFactor} must be 0 (off) or at least 1.");
        Require(ParticipantDrawWindow >= TimeSpan.Zero, "participant-draw-window must not be negative.");
        Require(ProbationSlots >= 0 && ProbationReputation >= 0, $"probation-slots {ProbationSlots} and probation-reputation {ProbationReputation} must not be negative.");
        Require(MaxExpertsPerKey >= 0, $"max-experts-per-key {MaxExpertsPerKey} must not be negative (0 = no cap).");
        Require(SubmitIdleTimeout > TimeSpan.Zero && SubmitMinimumBytesPerSecond >= 0, "submit-idle-timeout must be positive and submit-minimum-bytes-per-second not negative.");
        Require(MaxReceivingBytes >= 1 << 20, $"max-receiving-bytes {MaxReceivingBytes} must be at least 1 MiB.");
        // A top-k volunteer sends topk(its pseudo-gradient + its own error-feedback residual); no recomputation can rebuild that
        // residual, so a check would flag honest volunteers. Refused rather than silently switched off (spot checks are on by default).
        Require(Codec is not ("topk4" or "topk2") || (SpotCheckProbability == 0 && SpotCheckProbationProbability == 0),
            $"codec '{Codec}' carries each volunteer's error-feedback residual, which no spot check can recompute, so checks would flag honest " +
            "volunteers; use --codec fp16 or int8 with spot checks, or add --spot-check-probability 0 --spot-check-probation-probability 0 " +
            "to rely on robust aggregation alone.");
        Require(SpotCheckProbability is >= 0 and <= 1 && SpotCheckProbationProbability is >= 0 and <= 1,
            $"spot-check-probability {SpotCheckProbability} and spot-check-probation-probability {SpotCheckProbationProbability} must be between 0 and 1.");
        Require(SpotCheckProbationPasses >= 0, $"spot-check-probation-passes {SpotCheckProbationPasses} must not be negative.");
        Require(SpotCheckQueueCapacity >= 1, $"spot-check-queue-capacity {SpotCheckQueueCapacity} must be at least 1.");
        Require(SpotCheckMaxRelativeL2 > 0 && SpotCheckMinCosine is >= -1 and <= 1,
            $"spot-check-max-relative-l2 {SpotCheckMaxRelativeL2} must be positive and spot-check-min-cosine {SpotCheckMinCosine} between -1 and 1.");
        Require(SpotCheckMode is SpotCheckModes.Coordinator or SpotCheckModes.Volunteer,
            $"spot-check-mode '{SpotCheckMode}' is not one of {SpotCheckModes.Coordinator}, {SpotCheckModes.Volunteer}; use --spot-check-mode {SpotCheckModes.Coordinator} (the default) or {SpotCheckModes.Volunteer}.");
    }
}
