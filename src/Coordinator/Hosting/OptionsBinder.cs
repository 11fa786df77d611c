using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// Makes every <see cref="CoordinatorOptions"/> property a flag (<c>DataDirectory</c> → <c>--data-directory</c>)
/// and reads an optional JSON config first, so one list of settings serves the config file, the flags and the docs.
/// </summary>
public static class OptionsBinder
{
    /// <summary>What each setting does, shown by <c>serve --help</c> (a test checks that every setting has one).</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(CoordinatorOptions.DataDirectory)] = "Folder for the SQLite store, checkpoints and accepted update payloads; a restart resumes from it",
        [nameof(CoordinatorOptions.Preset)] = "Model preset: tiny (tests), small (demo), base (~95M parameters)",
        [nameof(CoordinatorOptions.Seed)] = "Seed of the initial model and of the synthetic corpus",
        [nameof(CoordinatorOptions.CorpusOrder)] = "Markov order of the synthetic corpus's domains, 1 to 4 (1 learns in minutes)",
        [nameof(CoordinatorOptions.TrunkRule)] = "Aggregation spec for the shared trunk, e.g. \"nnm(f=1) | trimmed-mean(f=1)\"; 'mean' is not robust",
        [nameof(CoordinatorOptions.ExpertRule)] = "Aggregation spec for each expert (over its holders only), e.g. median; 'mean' is not robust",
        [nameof(CoordinatorOptions.Replication)] = "Target holders per expert per round, so an expert's aggregate can be robust",
        [nameof(CoordinatorOptions.MinExpertHolders)] = "An expert group is aggregated only with at least this many holders in the round; fewer and it is skipped (the round log names it)",
        [nameof(CoordinatorOptions.MaxLeaseDuration)] = "Longest heartbeats can keep one lease alive, from its issue (>= lease-duration)",
        [nameof(CoordinatorOptions.MaxDownloadsPerLease)] = "Downloads allowed per leased unit (retries after a broken download)",
        [nameof(CoordinatorOptions.NormBoundFactor)] = "Refuse updates whose norm exceeds this multiple of the median over volunteers of their latest update norms (costs no reputation)",
        [nameof(CoordinatorOptions.ParticipantDrawWindow)] = "Who trains a round is drawn at random among volunteers asking within this window (not first come)",
        [nameof(CoordinatorOptions.ProbationSlots)] = "Units of one round that keys on probation may hold together (unless established volunteers cannot fill the rest)",
        [nameof(CoordinatorOptions.ProbationReputation)] = "Reputation at which a key leaves probation (useful accepted updates earn 0.25 each)",
        [nameof(CoordinatorOptions.MaxExpertsPerKey)] = "Most experts per MoE layer one key may hold (0 = as many as its memory allows)",
        [nameof(CoordinatorOptions.DeterministicPlanning)] = "Seed the planner and the draw from --seed instead of a CSPRNG: reproducible runs for simulations and tests only",
        [nameof(CoordinatorOptions.SubmitIdleTimeout)] = "An update stream silent this long is dropped (too-slow); also the grace before the minimum rate applies",
        [nameof(CoordinatorOptions.SubmitMinimumBytesPerSecond)] = "An update stream slower than this on average after the grace period is dropped (too-slow)",
        [nameof(CoordinatorOptions.MaxReceivingBytes)] = "Payload bytes received at once over all streams (memory bound); beyond it submissions are told to retry",
        [nameof(CoordinatorOptions.Quorum)] = "A round closes as soon as this many updates are accepted",
        [nameof(CoordinatorOptions.RoundTimeout)] = "Round deadline in seconds (or hh:mm:ss); at it the round closes if it has --min-updates",
        [nameof(CoordinatorOptions.MinUpdates)] = "Fewest updates a round may close with at its deadline (else the deadline is extended)",
        [nameof(CoordinatorOptions.LeaseDuration)] = "Seconds a volunteer has to return a work unit before it is reissued; raise for slow devices or large --inner-steps",
        [nameof(CoordinatorOptions.HeartbeatInterval)] = "Seconds between a training volunteer's heartbeats",
        [nameof(CoordinatorOptions.InnerSteps)] = "Local AdamW steps per work unit (H); larger H cuts traffic about H-fold",
        [nameof(CoordinatorOptions.BatchSize)] = "Sequences per local step",
        [nameof(CoordinatorOptions.SequenceLength)] = "Bytes per training sequence; at most the preset's context (tiny 64, small 256, base 512)",
        [nameof(CoordinatorOptions.InnerLearningRate)] = "Learning rate of the volunteers' local AdamW",
        [nameof(CoordinatorOptions.WeightDecay)] = "Weight decay of the local AdamW",
        [nameof(CoordinatorOptions.WarmupSteps)] = "Linear warm-up steps of the local learning rate",
        [nameof(CoordinatorOptions.ClipNorm)] = "Gradient-norm clip of the local steps",
        [nameof(CoordinatorOptions.OuterLearningRate)] = "DiLoCo outer learning rate (SGD with Nesterov momentum), > 0",
        [nameof(CoordinatorOptions.OuterMomentum)] = "DiLoCo outer Nesterov momentum, in [0, 1)",
        [nameof(CoordinatorOptions.Codec)] = "Update encoding volunteers must use: fp32, fp16, int8, or sparse topk4 / topk2 (with error feedback)",
        [nameof(CoordinatorOptions.CodecDensity)] = "Fraction of values the topk4 / topk2 update codecs keep per block of 256 (0.01 to 0.03 is typical)",
        [nameof(CoordinatorOptions.DownloadCodec)] = "full (fp32 shard each round) or int8 / fp16 / topk4 / topk2: versions are old + encoded step, and volunteers download only the steps",
        [nameof(CoordinatorOptions.DownloadDensity)] = "Fraction of values a step download keeps per block of 256",
        [nameof(CoordinatorOptions.MaxDownloadSteps)] = "Steps kept for small downloads; a volunteer further behind downloads the full shard",
        // First downloads from the seed (issue 16, s9seed)
        [nameof(CoordinatorOptions.SeedDownloads)] = "Send θ_0's seed in work units: a newcomer rebuilds version 0 and downloads only the steps since, when they are fewer bytes (checked against the unit's hash; false = full first downloads)",
        [nameof(CoordinatorOptions.MaxUpdateNorm)] = "An update whose L2 norm over a tensor group exceeds this is rejected (norm-too-large)",
        [nameof(CoordinatorOptions.MaxRounds)] = "Stop after this many rounds (0 = run until stopped)",
        [nameof(CoordinatorOptions.EvalBatches)] = "Held-out batches evaluated after each round (0 = no evaluation)",
        [nameof(CoordinatorOptions.AdmissionToken)] = "Only volunteers presenting this token may join (empty = open admission, warned at start)",
        [nameof(CoordinatorOptions.JoinsPerMinute)] = "Joins accepted per minute",
        [nameof(CoordinatorOptions.MaxPendingJoins)] = "Joins waiting for their durable commit at most; more are answered 'unavailable' with retry advice at once",
        [nameof(CoordinatorOptions.JoinCommitBatch)] = "Joins made durable in one transaction (one fsync) at most: group commit",
        [nameof(CoordinatorOptions.WorkPollsPerSecond)] = "Work requests per second the waiting crowd is spread over (longer 'no work' retry advice for large crowds)",
        [nameof(CoordinatorOptions.BanThreshold)] = "A volunteer whose reputation falls below this is banned (its signed evidence is kept)",
        [nameof(CoordinatorOptions.MaxStaleness)] = "Rounds an update may lag and still be accepted (0 = synchronous DiLoCo)",
        [nameof(CoordinatorOptions.TorchThreads)] = "libtorch threads the coordinator uses for evaluation",
        [nameof(CoordinatorOptions.Data)] = "Corpus folder to train on (train.tokens/.idx, held-out.tokens/.idx from scripts/build-mini-pile.sh); volunteers fetch its slices by SHA-256. Empty = synthetic corpus",
        [nameof(CoordinatorOptions.SpareLeases)] = "Work units leased beyond the quorum so one straggler cannot hold a round (0 makes runs reproducible)",
        // Eager outer update (issue 16)
        [nameof(CoordinatorOptions.EagerSlots)] = "Units of the next round leased, while a round closes, to --eager volunteers whose update it accepted (trained from their own result, one version late; needs --max-staleness 1; 0 = off)",
        // Round-close parallelism (issue 9)
        [nameof(CoordinatorOptions.CloseParallelism)] = "Most cores the round close's aggregation and checkpoint writes use at once (default: one fewer than the machine, so calls are still answered during a close)",
        // Store without per-unit durability (s8matrix, issue 15)
        [nameof(CoordinatorOptions.Durable)] = "false keeps the store in memory and skips the payload fsyncs: simulations and benchmarks only, a crash loses the run (never on a real coordinator)",
        // Spot checks (issue 12)
        [nameof(CoordinatorOptions.SpotCheckProbability)] = "Chance that an accepted update is secretly re-run on the coordinator and compared (0 with --spot-check-probation-probability 0 = no spot checks, warned at start)",
        [nameof(CoordinatorOptions.SpotCheckProbationProbability)] = "The same chance for keys on probation (new keys, until they have passed --spot-check-probation-passes checks)",
        [nameof(CoordinatorOptions.SpotCheckProbationPasses)] = "Passed spot checks a key needs (besides --probation-reputation) to leave probation",
        [nameof(CoordinatorOptions.SpotCheckQueueCapacity)] = "Spot checks waiting at once; one drawn while the queue is full is skipped and logged (a submission never waits)",
        [nameof(CoordinatorOptions.SpotCheckMaxRelativeL2)] = "A recomputation fails if any tensor group is farther than this (relative L2; calibrated in docs/verification.md)",
        [nameof(CoordinatorOptions.SpotCheckMinCosine)] = "A recomputation fails if any tensor group's cosine with the claim is below this",
        [nameof(CoordinatorOptions.SpotCheckMode)] = "Who recomputes a drawn check: coordinator (its own trainer) or volunteer (leased blind to another reputable key; disagreements and unreturned checks go to the coordinator)",
        [nameof(CoordinatorOptions.SpotCheckDistinctSource)] = "Volunteer mode: a checker must have joined from another address than the checked key",
    };

    /// <summary>The settings a flag can set: every writable property of <see cref="CoordinatorOptions"/>.</summary>
    public static IEnumerable<PropertyInfo> Settings =>
        typeof(CoordinatorOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite);

    public static IReadOnlyList<(PropertyInfo Property, Option<string> Option)> CreateOptions()
    {
        var defaults = new CoordinatorOptions();
        return Settings
            .Select(p => (p, new Option<string>("--" + Kebab(p.Name))
            {
                Description = $"{Descriptions.GetValueOrDefault(p.Name, p.Name)} [default: {Format(p.GetValue(defaults))}]",
            }))
            .ToList();
    }

    /// <summary>Defaults, then the JSON config (if any), then the flags given on the command line.</summary>
    public static CoordinatorOptions Bind(ParseResult parse, IReadOnlyList<(PropertyInfo Property, Option<string> Option)> options, string? configPath)
    {
        var result = new CoordinatorOptions();
        if (!string.IsNullOrEmpty(configPath))
        {
            if (!File.Exists(configPath)) throw new ArgumentException($"--config '{configPath}' does not exist.");
            try
            {
                result = JsonSerializer.Deserialize<CoordinatorOptions>(File.ReadAllText(configPath), new JsonSerializerOptions
                {
                    PropertyNameCaseInsensitive = true,
                    UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
                    ReadCommentHandling = JsonCommentHandling.Skip,
                }) ?? result;
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"--config '{configPath}': {e.Message} Property names are those of `serve --help` in PascalCase, e.g. \"Quorum\": 4.");
            }
        }
        foreach (var (property, option) in options)
        {
            string? text = parse.GetValue(option);
            if (text is null) continue;
            object value = Convert(text, property.PropertyType, option.Name);
            var copy = result with { };
            property.SetValue(copy, value);
            result = copy;
        }
        result.Validate();
        return result;
    }

    private static object Convert(string text, Type type, string flag)
    {
        try
        {
            if (type == typeof(string)) return text;
            if (type == typeof(int)) return int.Parse(text, CultureInfo.InvariantCulture);
            if (type == typeof(long)) return long.Parse(text, CultureInfo.InvariantCulture);
            if (type == typeof(double)) return double.Parse(text, CultureInfo.InvariantCulture);
            if (type == typeof(bool)) return bool.Parse(text);
            if (type == typeof(TimeSpan))
            {
                // Plain numbers are seconds ("90"); hh:mm:ss also works.
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
                    ? TimeSpan.FromSeconds(seconds)
                    : TimeSpan.Parse(text, CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ArgumentException($"{flag} '{text}' is not a valid {Describe(type)}.");
        }
        throw new ArgumentException($"{flag} has unsupported type {type.Name}.");
    }

    private static string Describe(Type t) =>
        t == typeof(TimeSpan) ? "duration (seconds, or hh:mm:ss)"
        : t == typeof(int) || t == typeof(long) ? "whole number"
        : t == typeof(double) ? "number (e.g. 0.5 or 3e-3)"
        : t == typeof(bool) ? "true or false"
        : t.Name.ToLowerInvariant();

    private static string Format(object? value) => value switch
    {
        TimeSpan t => $"{t.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
        string { Length: 0 } => "empty",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? "none",
    };

    public static string Kebab(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('-');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
