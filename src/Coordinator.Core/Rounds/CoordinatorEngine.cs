using System.Security.Cryptography;
using Hivemind.Aggregation;
using Hivemind.Coordinator.Admission;
using Hivemind.Coordinator.Participation;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Reputation;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Data;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// The coordinator without transport: joins, leases, verification, aggregation, the outer step and
/// checkpoints, on a <see cref="TimeProvider"/>. The gRPC host and the simulator drive the same instance.
/// Thread-safe: state changes happen under one lock; payload decoding runs outside it.
/// One type over several files, one per seam: admission (<c>.Admission.cs</c>), leases (<c>.Leases.cs</c>),
/// submissions (<c>.Submissions.cs</c>), round closing (<c>.Rounds.cs</c>) and restore (<c>.Restore.cs</c>).
/// </summary>
public sealed partial class CoordinatorEngine : IDisposable
{
    /// <summary>A volunteer that asked for work within this window counts as active (status, and the per-key share of a round).</summary>
    public static readonly TimeSpan ActiveWindow = TimeSpan.FromSeconds(30);

    /// <summary>How long a volunteer waits before asking again when every unit of the round is leased.</summary>
    public static readonly TimeSpan BusyRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest random stretch of a crowd's "no work" wait, as a fraction of it.</summary>
    public const double PollJitter = 0.5;

    /// <summary>Leases issued and not yet durable at most: beyond it a volunteer is told to ask again (a round issues quorum + spare leases).</summary>
    public const int MaxPendingLeases = 4096;

    /// <summary>Leases per durable transaction at most.</summary>
    private const int LeaseCommitBatch = 256;

    /// <summary>Silent heartbeat intervals after which a session expires (the .proto's promise).</summary>
    public const int SilentIntervalsToExpire = 3;

    private readonly CoordinatorOptions _options;
    private readonly TimeProvider _time;
    private readonly CoordinatorStore _store;
    private readonly CheckpointStore _checkpoints;
    private readonly TensorGroups _groups;
    private readonly ShardPlanner _planner;
    private readonly UpdateVerifier _verifier;
    private readonly ReputationBook _reputation = new();
    private readonly ChallengeBook _challenges;
    private readonly SourceRateLimiter _joins;
    private readonly SessionBook _sessions;
    private readonly GroupCommit<PendingJoin> _joinCommits;
    private readonly object _joinOrder = new();
    private readonly GroupCommit<WorkUnitRecord> _leaseCommits;
    private readonly Dictionary<string, Task> _pendingLeaseCommits = new(StringComparer.Ordinal); // lease id → its commit, until done; under the lock
    private Task _lastLeaseCommit = Task.CompletedTask; // commits are in queue order: once this one is done, every earlier one is
    private readonly ParticipantDraw _draw;
    private readonly NormHistory _norms = new();
    private readonly WorkUnitFactory _units;
    private readonly object _gate = new();
    private readonly List<AcceptedUpdate> _accepted = [];
    private readonly Dictionary<string, WorkUnitRecord> _leases = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, WorkUnitRecord> _liveLeases = new(StringComparer.Ordinal); // state "leased" only; written under the lock, read without it
    private readonly Dictionary<string, int> _downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _expectedLengths = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
    private readonly Random _rng;
    private readonly Random _pollJitter; // its own stream: jittering waits must not shift the planner's draws in seeded runs
    private ParameterSet _global;
    private OuterOptimizer _outer;
    private Dictionary<string, float[]> _aggregatorStates = new(StringComparer.Ordinal);
    private long _round;
    private bool _closing; // a round close is deciding outside the lock: the accepted updates stay as they are until it commits
    private int _nextUnitIndex;
    private DateTimeOffset _roundDeadline;
    private double? _lastEvalLoss;
    private long _bytesSent;
    private long _receiving;

    private CoordinatorEngine(CoordinatorOptions options, TimeProvider time)
    {
        options.Validate();
        _options = options;
        _time = time;
        // Real text (issue 13): the corpus fixes the vocabulary; opened first so a bad --data changes nothing on disk.
        _text = options.Data.Length > 0 ? TokenCorpus.Open(options.Data) : null;
        Model = WorkUnitFactory.ModelFor(options, _text);
        Model.Validate();
        Directory.CreateDirectory(options.DataDirectory);
        _store = new CoordinatorStore(Path.Combine(options.DataDirectory, "coordinator.db"), options.Durable);
        RunId = _store.RunId(Protocol.Identity.RunId.Draw);
        _ledger = Hivemind.Coordinator.Ledger.DecisionLedger.Open(_store, options.DataDirectory, time);
        _checkpoints = new CheckpointStore(Path.Combine(options.DataDirectory, "checkpoints"));
        _challenges = new ChallengeBook(time);
        _joins = new SourceRateLimiter(time, options.JoinsPerMinute);
        _sessions = new SessionBook(time, options.HeartbeatInterval * SilentIntervalsToExpire);
        _joinCommits = new GroupCommit<PendingJoin>(CommitJoins, options.MaxPendingJoins, options.JoinCommitBatch, "hivemind-join-commit");
        _leaseCommits = new GroupCommit<WorkUnitRecord>(CommitLeases, MaxPendingLeases, LeaseCommitBatch, "hivemind-lease-commit");
        _units = new WorkUnitFactory(options, Model, _text);
        // Who trains and which experts they hold must not be predictable to a volunteer (it could time its asks or pick its
        // keys to land in one expert group); simulations ask for reproducible runs instead.
        _rng = options.DeterministicPlanning ? new Random(unchecked((int)options.Seed)) : new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        _pollJitter = options.DeterministicPlanning ? new Random(unchecked((int)options.Seed) ^ 0x5EED) : new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        _draw = new ParticipantDraw(time, options.ParticipantDrawWindow, options.DeterministicPlanning ? _rng : null);
        _global = ModelInit.Initialize(Model, options.Seed);
        _groups = new TensorGroups(_global);
        _planner = new ShardPlanner(Model, Model.TrunkParameters, Model.ParametersPerExpert);
        _verifier = new UpdateVerifier(_groups, options.MaxUpdateNorm);
        // Parsed once here so that a bad spec fails at start-up; each round close builds its own pipelines from the specs and saved states.
        foreach (var key in _groups.Keys)
            _aggregatorStates[key] = AggregationPipeline.Parse(Closing.RoundRules.From(options).RuleFor(key)).ExportState();
        _outer = new OuterOptimizer(options.OuterLearningRate, options.OuterMomentum);
        OptimalLoss = _units.OptimalLoss;
        ExpectedTokens = (long)options.InnerSteps * options.BatchSize * options.SequenceLength;
        StartSpotChecks();
    }

    /// <summary>Raised (outside the lock) after each round closes and its checkpoint is durable.</summary>
    public event Action<RoundSummary>? RoundClosed;

    /// <summary>Human-readable events for the host's log.</summary>
    public event Action<string>? Log;

    /// <summary>Raised when a submission's envelope passed every check and its payload is about to be read (tests await it).</summary>
    public event Action<string>? SubmissionOpened;

    /// <summary>Raised after every accepted or rejected update, for metrics and the dashboard (issue 14).</summary>
    public event Action<UpdateDecision>? UpdateDecided;

    public ModelConfig Model { get; }

    /// <summary>
    /// This run's random id (16 bytes, kept in the store, so it survives restarts): signed into every join and update, so nothing
    /// signed for another coordinator or an earlier run of this one is accepted here.
    /// </summary>
    public byte[] RunId { get; }

    public CoordinatorOptions Options => _options;

    public CoordinatorStore Store => _store;

    /// <summary>The clock every decision uses (the transport's timeouts too).</summary>
    public TimeProvider Time => _time;

    /// <summary>Best achievable held-out loss on the synthetic corpus (nats per byte).</summary>
    public double OptimalLoss { get; }

    /// <summary>Tokens every work unit trains on (inner steps × batch × sequence length): the only weight an update gets.</summary>
    public long ExpectedTokens { get; }

    public long Round
    {
        get { lock (_gate) return _round; }
    }

    /// <summary>Version r is θ_r, the parameters round r trains from.</summary>
    public long Version => Round;

    public bool Finished => _options.MaxRounds > 0 && Round >= _options.MaxRounds;

    public double? LastEvalLoss
    {
        get { lock (_gate) return _lastEvalLoss; }
    }

    /// <summary>Payload bytes reserved by submissions being received right now.</summary>
    public long ReceivingBytes => Interlocked.Read(ref _receiving);

    /// <summary>Opens the store under <see cref="CoordinatorOptions.DataDirectory"/>, restoring the last durable state.</summary>
    public static CoordinatorEngine Open(CoordinatorOptions options, TimeProvider time)
    {
        var engine = new CoordinatorEngine(options, time);
        try
        {
            engine.Restore();
        }
        catch
        {
            engine.Dispose();
            throw;
        }
        return engine;
    }

    /// <summary>A snapshot for status replies, dashboards and the demo summary.</summary>
    public EngineStatus Status()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            int active = _lastSeen.Values.Count(t => now - t <= ActiveWindow);
            return new EngineStatus(_round, active, _leases.Values.Count(l => l.State == "leased"),
                _accepted.Count, _store.LedgerCount(), _store.Rejections(), _lastEvalLoss, _store.PayloadBytesTotal(), BytesSent);
        }
    }

    /// <summary>Held-out loss of the current model (nats per byte).</summary>
    public double EvaluateCurrent()
    {
        ParameterSet snapshot;
        lock (_gate) snapshot = _global.Clone();
        return _units.Evaluate(snapshot);
    }

    /// <summary>A copy of the whole current model (for checkpoints, evaluation and tests).</summary>
    public ParameterSet GlobalParameters()
    {
        lock (_gate) return _global.Clone();
    }

    /// <summary>Counts a rejection the transport decided (oversized chunk, malformed stream) so that status shows it.</summary>
    public void CountRejection(RejectReason reason) => RecordRejection(null, reason);

    /// <summary>Counts a rejection in the store and tells <see cref="UpdateDecided"/>'s listeners.</summary>
    private void RecordRejection(string? volunteerId, RejectReason reason)
    {
        RecordRejectionEntry(volunteerId, RejectReasons.Token(reason));
        UpdateDecided?.Invoke(UpdateDecision.Reject(volunteerId, reason));
    }

    public void CountBytesSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Where an accepted update's payload is on disk (the ledger stores it relative to the data directory).</summary>
    public string PayloadFile(UpdateRecord update) => Resolve(update.PayloadPath);

    // ---- helpers ------------------------------------------------------------------------------

    private static UpdateEnvelope ParseEnvelope(byte[] bytes)
    {
        try
        {
            return EnvelopeSerializer.Deserialize(bytes);
        }
        catch (ProtocolException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw Reject(RejectReason.MalformedEnvelope, e.Message);
        }
    }

    private static ProtocolException Reject(RejectReason reason, string detail) => new(reason, detail);

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Payload paths are stored relative to the data directory, so the directory can move (e.g. to a bigger disk).</summary>
    private string Resolve(string storedPath) => Path.IsPathRooted(storedPath) ? storedPath : Path.Combine(_options.DataDirectory, storedPath);

    private static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover temp file is harmless; the incoming folder is cleared at start.
        }
    }

    public void Dispose()
    {
        StopSpotChecks();
        _joinCommits.Dispose(); // commits what is queued while the store is still open
        _leaseCommits.Dispose();
        _store.Dispose();
        _ledger.Dispose();
        _signal.Dispose();
        _text?.Dispose();
    }

    /// <summary>A verified join waiting for its group commit.</summary>
    private sealed record PendingJoin(VolunteerRecord Volunteer, string TokenSha256, long AtMs);

    /// <summary>What a round close read under the lock: the round, its accepted updates, whether each one's key was on probation, and the model state.</summary>
    private sealed record ClosingRound(long Round, IReadOnlyList<AcceptedUpdate> Accepted, IReadOnlyList<bool> OnProbation, Closing.RoundModelState State);

    /// <summary>What a round close decided outside the lock, ready to commit.</summary>
    private sealed record DecidedRound(Closing.RoundDecision Decision, Broadcast.StepBroadcast.Pending? Step, string Checkpoint, TimeSpan AggregationTime, TimeSpan PublishTime);

    /// <summary>An accepted update of the open round, held in its wire form: the ledger row names its durable payload file, decoded when the round closes.</summary>
    private sealed record AcceptedUpdate(UpdateRecord Record, ShardSpec Shard, int UnitIndex, double TrunkNorm);
}
