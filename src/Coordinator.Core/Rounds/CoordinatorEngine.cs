using System.Diagnostics;
using System.Security.Cryptography;
using Hivemind.Aggregation;
using Hivemind.Coordinator.Admission;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Reputation;
using Hivemind.Coordinator.Storage;
using Hivemind.Coordinator.Verification;
using Hivemind.Data;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// The coordinator without transport: joins, leases, verification, aggregation, the outer step and
/// checkpoints, on a <see cref="TimeProvider"/>. The gRPC host and the simulator drive the same instance.
/// Thread-safe: state changes happen under one lock; payload decoding runs outside it.
/// </summary>
public sealed class CoordinatorEngine : IDisposable
{
    /// <summary>A volunteer that asked for work within this window counts as active when units are shared out.</summary>
    public static readonly TimeSpan ActiveWindow = TimeSpan.FromSeconds(30);

    /// <summary>How long a volunteer waits before asking again when every unit of the round is leased.</summary>
    public static readonly TimeSpan BusyRetry = TimeSpan.FromMilliseconds(500);

    private readonly CoordinatorOptions _options;
    private readonly TimeProvider _time;
    private readonly CoordinatorStore _store;
    private readonly CheckpointStore _checkpoints;
    private readonly TensorGroups _groups;
    private readonly ShardPlanner _planner;
    private readonly UpdateVerifier _verifier;
    private readonly Dictionary<string, AggregationPipeline> _pipelines = new(StringComparer.Ordinal);
    private readonly ReputationBook _reputation = new();
    private readonly ChallengeBook _challenges;
    private readonly JoinRateLimiter _joins;
    private readonly WorkUnitFactory _units;
    private readonly object _gate = new();
    private readonly List<AcceptedUpdate> _accepted = [];
    private readonly Dictionary<string, WorkUnitRecord> _leases = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
    private readonly Random _rng;
    private ParameterSet _global;
    private OuterOptimizer _outer;
    private long _round;
    private int _nextUnitIndex;
    private DateTimeOffset _roundDeadline;
    private double? _lastEvalLoss;
    private long _bytesSent;

    private CoordinatorEngine(CoordinatorOptions options, TimeProvider time)
    {
        options.Validate();
        _options = options;
        _time = time;
        Model = ModelConfig.Preset(options.Preset);
        Model.Validate();
        Directory.CreateDirectory(options.DataDirectory);
        _store = new CoordinatorStore(Path.Combine(options.DataDirectory, "coordinator.db"));
        _checkpoints = new CheckpointStore(Path.Combine(options.DataDirectory, "checkpoints"));
        _challenges = new ChallengeBook(time);
        _joins = new JoinRateLimiter(time, options.JoinsPerMinute);
        _units = new WorkUnitFactory(options, Model);
        _rng = new Random(unchecked((int)options.Seed));
        _global = ModelInit.Initialize(Model, options.Seed);
        _groups = new TensorGroups(_global);
        _planner = new ShardPlanner(Model, Model.TrunkParameters, Model.ParametersPerExpert);
        _verifier = new UpdateVerifier(_groups, options.MaxUpdateNorm);
        foreach (var key in _groups.Keys)
            _pipelines[key] = AggregationPipeline.Parse(key == TensorGroups.Trunk ? options.TrunkRule : options.ExpertRule);
        _outer = new OuterOptimizer(options.OuterLearningRate, options.OuterMomentum);
        OptimalLoss = _units.OptimalLoss;
    }

    /// <summary>Raised (outside the lock) after each round closes and its checkpoint is durable.</summary>
    public event Action<RoundSummary>? RoundClosed;

    /// <summary>Raised (outside the lock) for every accepted or rejected update; handlers must be quick and thread-safe.</summary>
    public event Action<UpdateDecision>? UpdateDecided; // dashboard hook (issue 14)

    /// <summary>Human-readable events for the host's log.</summary>
    public event Action<string>? Log;

    public ModelConfig Model { get; }

    public CoordinatorOptions Options => _options;

    public CoordinatorStore Store => _store;

    /// <summary>Best achievable held-out loss on the synthetic corpus (nats per byte).</summary>
    public double OptimalLoss { get; }

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

    // ---- join ------------------------------------------------------------------------------

    public (byte[] Nonce, DateTimeOffset Expires) IssueChallenge(byte[] publicKey)
    {
        if (publicKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw new ProtocolException(RejectReason.MalformedRequest, $"public_key has {publicKey.Length} bytes; an Ed25519 key has {VolunteerIdentity.PublicKeyBytes}");
        return _challenges.Issue(publicKey);
    }

    /// <summary>Admits a volunteer that signed a fresh challenge; returns its id and a new session token.</summary>
    public (string VolunteerId, string SessionToken) Join(uint protocolVersion, byte[] publicKey, byte[] nonce, byte[] signature, ulong memoryBytes, string device, string admissionToken)
    {
        ProtocolVersion.Require(protocolVersion);
        if (publicKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw Reject(RejectReason.MalformedRequest, $"public_key has {publicKey.Length} bytes; an Ed25519 key has {VolunteerIdentity.PublicKeyBytes}");
        if (!_joins.TryAcquire(out var retry))
            throw Reject(RejectReason.RateLimited, $"more than {_options.JoinsPerMinute} joins per minute; retry in {retry.TotalSeconds:0.#} s");
        if (_options.AdmissionToken.Length > 0 &&
            !CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(admissionToken), System.Text.Encoding.UTF8.GetBytes(_options.AdmissionToken)))
            throw Reject(RejectReason.BadAdmissionToken, "the admission token does not match");
        if (_challenges.Redeem(nonce, publicKey) is { } why)
            throw Reject(why.Contains("expired", StringComparison.Ordinal) ? RejectReason.ExpiredChallenge : RejectReason.BadChallenge, why);
        if (!JoinChallenge.Verify(signature, protocolVersion, publicKey, nonce, memoryBytes, device, admissionToken))
            throw Reject(RejectReason.BadSignature, "the join signature does not verify with the given public key");
        string id = VolunteerIds.FromPublicKey(publicKey);
        var existing = _store.GetVolunteer(id);
        if (existing is { Banned: true })
            throw Reject(RejectReason.Banned, $"volunteer {id[..12]}… is banned ({existing.BanReason})");
        long memory = (long)Math.Min(memoryBytes, long.MaxValue);
        try
        {
            _planner.ExpertsPerLayerFor(memory);
        }
        catch (ArgumentException e)
        {
            throw Reject(RejectReason.MalformedRequest, e.Message);
        }
        long now = NowMs();
        _store.UpsertVolunteer(new VolunteerRecord(id, publicKey, device, memory, now));
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        _store.AddSession(token, id, now);
        Log?.Invoke($"volunteer {id[..12]} joined ({device}, {memoryBytes >> 20} MiB)");
        return (id, token);
    }

    /// <summary>The volunteer behind a session token, or an InvalidSession / Banned rejection.</summary>
    public VolunteerRecord Authenticate(string sessionToken)
    {
        string? id = string.IsNullOrEmpty(sessionToken) ? null : _store.VolunteerForSession(sessionToken);
        if (id is null) throw Reject(RejectReason.InvalidSession, "the session token is unknown (the coordinator may have been reset)");
        var v = _store.GetVolunteer(id) ?? throw Reject(RejectReason.UnknownVolunteer, $"volunteer {id} is not registered");
        if (v.Banned) throw Reject(RejectReason.Banned, $"volunteer {id[..12]}… is banned ({v.BanReason})");
        return v;
    }

    public void Leave(string sessionToken)
    {
        var v = Authenticate(sessionToken);
        lock (_gate)
        {
            Retire(v.Id, "volunteer left");
        }
        _store.RemoveSessions(v.Id);
    }

    // ---- work ------------------------------------------------------------------------------

    /// <summary>Leases a work unit to the volunteer, or says when to ask again.</summary>
    public WorkDecision RequestWork(string sessionToken)
    {
        var v = Authenticate(sessionToken);
        lock (_gate)
        {
            ExpireOverdueLeases();
            if (Finished) return WorkDecision.Wait(TimeSpan.FromSeconds(30), $"training finished after {_options.MaxRounds} rounds");
            var mine = _leases.Values.FirstOrDefault(l => l.VolunteerId == v.Id && l.State == "leased" && l.Round == _round);
            if (mine is not null) return WorkDecision.Work(_units.Build(mine));
            var now = _time.GetUtcNow();
            _lastSeen[v.Id] = now;
            // One identity may not fill several slots of a round while others wait: robust rules bound the share of
            // Byzantine *inputs*, so a fast attacker must not turn one key into many inputs. Repeats are allowed only
            // when there are fewer active volunteers than units (a small pool still reaches its quorum).
            int active = _lastSeen.Values.Count(t => now - t <= ActiveWindow);
            int cap = (int)Math.Ceiling((double)(_options.Quorum + _options.SpareLeases) / Math.Max(1, active));
            int held = _leases.Values.Count(l => l.VolunteerId == v.Id && l.Round == _round && l.State != "expired");
            if (held >= cap)
                return WorkDecision.Wait(BusyRetry, $"this volunteer already trained {held} unit(s) of round {_round}; the rest go to the {active - 1} other active volunteers");
            int live = _leases.Values.Count(l => l.State == "leased" && l.Round == _round);
            if (_accepted.Count >= _options.Quorum)
                return WorkDecision.Wait(BusyRetry, $"round {_round} reached its quorum and is closing");
            if (_accepted.Count + live >= _options.Quorum + _options.SpareLeases)
                return WorkDecision.Wait(BusyRetry, $"all work units of round {_round} are leased");
            var shard = _planner.Plan(v.MemoryBytes, Coverage(), _rng);
            int index = _nextUnitIndex++;
            var record = new WorkUnitRecord(
                $"r{_round}-u{index}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}",
                _round, _round, v.Id, ShardText.Format(shard), index, now.ToUnixTimeMilliseconds(),
                (now + _options.LeaseDuration).ToUnixTimeMilliseconds(), "leased");
            _store.AddWorkUnit(record);
            _leases[record.Id] = record;
            return WorkDecision.Work(_units.Build(record));
        }
    }

    /// <summary>A copy of the parameters of a leased unit's shard at the current version.</summary>
    public ParameterSet ShardParameters(string sessionToken, long version, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate) return Shards.Extract(_global, CurrentLeaseShard(v, version, workUnitId));
    }

    /// <summary>The shard of a unit leased to this session's volunteer, at the current version.</summary>
    public ShardSpec LeasedShard(string sessionToken, long version, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate) return CurrentLeaseShard(v, version, workUnitId);
    }

    /// <summary>The shard of a unit leased to <paramref name="v"/> when <paramref name="version"/> is current. Caller holds the lock.</summary>
    private ShardSpec CurrentLeaseShard(VolunteerRecord v, long version, string workUnitId)
    {
        if (version != _round) throw Reject(RejectReason.StaleVersion, $"version {version} was requested; the current version is {_round}");
        if (!_leases.TryGetValue(workUnitId, out var lease) || lease.VolunteerId != v.Id)
            throw Reject(RejectReason.UnleasedWorkUnit, $"work unit '{workUnitId}' is not leased to this volunteer");
        return ShardText.Parse(lease.Shard);
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
    public void CountRejection(RejectReason reason)
    {
        _store.CountRejection(RejectReasons.Token(reason));
        UpdateDecided?.Invoke(UpdateDecision.Reject(null, reason)); // dashboard hook (issue 14)
    }

    public void CountBytesSent(long bytes) => Interlocked.Add(ref _bytesSent, bytes);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Extends the lease of a unit in progress; false if it is no longer valid.</summary>
    public (bool Valid, DateTimeOffset Deadline) Heartbeat(string sessionToken, string workUnitId)
    {
        var v = Authenticate(sessionToken);
        lock (_gate)
        {
            _lastSeen[v.Id] = _time.GetUtcNow();
            if (!_leases.TryGetValue(workUnitId, out var lease) || lease.VolunteerId != v.Id || lease.State != "leased")
                return (false, default);
            var deadline = DateTimeOffset.FromUnixTimeMilliseconds(lease.DeadlineMs);
            return (deadline >= _time.GetUtcNow(), deadline);
        }
    }

    // ---- submit ------------------------------------------------------------------------------

    /// <summary>
    /// Verifies an update and, if every check passes, makes it durable (payload file and ledger row) before
    /// returning its ledger sequence number. Any failure throws <see cref="ProtocolException"/> and changes no
    /// ledger state; the temporary payload file is deleted either way.
    /// </summary>
    public long Submit(SubmittedUpdate update)
    {
        UpdateEnvelope? envelope = null;
        try
        {
            envelope = ParseEnvelope(update.Envelope);
            ProtocolVersion.Require(envelope.ProtocolVersion);
            string volunteerId = VolunteerIds.FromPublicKey(envelope.VolunteerKey);
            var volunteer = _store.GetVolunteer(volunteerId) ?? throw Reject(RejectReason.UnknownVolunteer, $"volunteer {volunteerId} never joined");
            if (volunteer.Banned) throw Reject(RejectReason.Banned, $"volunteer {volunteerId[..12]}… is banned ({volunteer.BanReason})");
            if (update.SessionVolunteerId is { } sessionId && sessionId != volunteerId)
                throw Reject(RejectReason.VolunteerMismatch, "the envelope's key is not the key this session joined with");
            if (!EnvelopeSigner.Verify(update.Envelope, update.Signature, volunteer.PublicKey))
                throw Reject(RejectReason.BadSignature, "the envelope signature does not verify with the volunteer's key");

            // From here on the update is attributable: failures cost reputation.
            try
            {
                long seq = AcceptVerified(update, envelope, volunteer);
                UpdateDecided?.Invoke(UpdateDecision.Accept(volunteer.Id, update.PayloadLength)); // dashboard hook (issue 14)
                return seq;
            }
            catch (ProtocolException e) when (Attributable(e.Reason))
            {
                Penalize(volunteer.Id, e.Reason, update);
                throw;
            }
        }
        catch (ProtocolException e)
        {
            _store.CountRejection(RejectReasons.Token(e.Reason));
            UpdateDecided?.Invoke(UpdateDecision.Reject(update.SessionVolunteerId, e.Reason)); // dashboard hook (issue 14)
            throw;
        }
        finally
        {
            TryDelete(update.PayloadPath);
        }
    }

    private long AcceptVerified(SubmittedUpdate update, UpdateEnvelope envelope, VolunteerRecord volunteer)
    {
        if (update.PayloadLength != (long)envelope.PayloadLength)
            throw Reject(RejectReason.TruncatedStream, $"received {update.PayloadLength} payload bytes; the envelope announces {envelope.PayloadLength}");
        if (!update.PayloadSha256.AsSpan().SequenceEqual(envelope.PayloadSha256))
            throw Reject(RejectReason.HashMismatch, "the payload's SHA-256 differs from the envelope's");
        var lease = CheckLease(envelope, volunteer.Id);
        var shard = ShardText.Parse(lease.Shard);
        var payload = _verifier.Decode(update.PayloadPath, envelope, shard, _units.Codec);

        lock (_gate)
        {
            lease = CheckLease(envelope, volunteer.Id); // the round may have closed while we decoded
            // A stale update (bounded staleness) is aggregated into the current round; the ledger's round says where
            // it was applied and its version what it was trained from.
            string dir = Path.Combine(_options.DataDirectory, "updates", $"r{_round}");
            Directory.CreateDirectory(dir);
            string final = Path.Combine(dir, lease.Id + ".bin");
            File.Move(update.PayloadPath, final, overwrite: true);
            DurableFiles.SyncDirectory(dir);
            var record = new UpdateRecord(lease.Id, volunteer.Id, _round, lease.Version, update.Envelope, update.Signature,
                final, update.PayloadLength, (long)envelope.Tokens, envelope.MeanLoss, NowMs());
            long seq = _store.AcceptUpdate(record);
            _leases[lease.Id] = lease with { State = "completed" };
            _lastSeen[volunteer.Id] = _time.GetUtcNow();
            _accepted.Add(new AcceptedUpdate(record with { Sequence = seq }, payload, shard, lease.UnitIndex));
            _signal.Release();
            return seq;
        }
    }

    private WorkUnitRecord CheckLease(UpdateEnvelope envelope, string volunteerId)
    {
        lock (_gate)
        {
            var lease = _store.GetWorkUnit(envelope.WorkUnitId);
            if (lease is null || lease.VolunteerId != volunteerId)
                throw Reject(RejectReason.UnleasedWorkUnit, $"work unit '{envelope.WorkUnitId}' was not leased to this volunteer");
            if (_store.HasUpdateFor(lease.Id))
                throw Reject(RejectReason.Replay, $"an update for work unit '{lease.Id}' was already accepted");
            if ((long)envelope.Round != lease.Round || _round - lease.Round > _options.MaxStaleness)
                throw Reject(RejectReason.StaleRound, _options.MaxStaleness == 0
                    ? $"the update is for round {envelope.Round}; the current round is {_round}"
                    : $"the update is for round {envelope.Round}; the current round is {_round}, more than --max-staleness {_options.MaxStaleness} later");
            if ((long)envelope.ModelVersion != lease.Version)
                throw Reject(RejectReason.StaleVersion, $"the update was trained from version {envelope.ModelVersion}; its work unit was leased at version {lease.Version}");
            if (!_leases.TryGetValue(lease.Id, out var live) || live.State == "expired" || _time.GetUtcNow().ToUnixTimeMilliseconds() > lease.DeadlineMs)
                throw Reject(RejectReason.ExpiredLease, $"the lease on '{lease.Id}' expired at {DateTimeOffset.FromUnixTimeMilliseconds(lease.DeadlineMs):O}");
            if (ShardText.Format(ShardText.FromEnvelope(envelope)) != lease.Shard)
                throw Reject(RejectReason.WrongShard, $"the envelope's shard differs from the leased shard {lease.Shard}");
            return live;
        }
    }

    private static bool Attributable(RejectReason reason) => reason is RejectReason.Replay or RejectReason.NonFinite or RejectReason.WrongShape
        or RejectReason.WrongTensorNames or RejectReason.NormTooLarge or RejectReason.MalformedPayload or RejectReason.WrongShard or RejectReason.WrongCodec;

    private void Penalize(string volunteerId, RejectReason reason, SubmittedUpdate update)
    {
        lock (_gate)
        {
            double score = _reputation.Adjust(volunteerId, -ReputationBook.FailedCheckPenalty);
            _store.SetReputation(volunteerId, score);
            if (score < _options.BanThreshold)
            {
                BanLocked(volunteerId, $"reputation {score:0.##} after {RejectReasons.Token(reason)}", update.Envelope, update.Signature);
                Log?.Invoke($"banned volunteer {volunteerId[..12]}: reputation {score:0.##} after {RejectReasons.Token(reason)}");
            }
        }
    }

    /// <summary>Bans with evidence, frees the volunteer's leases for reissue and stops counting it as active. Caller holds the lock.</summary>
    private void BanLocked(string volunteerId, string reason, byte[] envelope, byte[] signature)
    {
        _store.Ban(volunteerId, reason, NowMs(), envelope, signature);
        Retire(volunteerId, "volunteer banned");
    }

    /// <summary>Frees a departing volunteer's leases for reissue and stops counting it as active. Caller holds the lock.</summary>
    private void Retire(string volunteerId, string why)
    {
        foreach (var lease in _leases.Values.Where(l => l.VolunteerId == volunteerId && l.State == "leased").ToList())
            ExpireLease(lease, why);
        _lastSeen.Remove(volunteerId);
    }

    // ---- rounds ------------------------------------------------------------------------------

    /// <summary>Waits until an update arrives or <paramref name="timeout"/> passes (the host's loop calls <see cref="Tick"/> after).</summary>
    public async Task WaitForActivityAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var wait = _signal.WaitAsync(cts.Token);
        var delay = Task.Delay(timeout, _time, cts.Token);
        await Task.WhenAny(wait, delay);
        await cts.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>Expires overdue leases and closes the round at quorum or deadline. Returns the summary if a round closed.</summary>
    public RoundSummary? Tick()
    {
        RoundSummary? summary;
        ParameterSet? toEvaluate;
        lock (_gate)
        {
            ExpireOverdueLeases();
            if (Finished) return null;
            var now = _time.GetUtcNow();
            bool quorum = _accepted.Count >= _options.Quorum;
            bool deadline = now >= _roundDeadline;
            if (!quorum && deadline && _accepted.Count < _options.MinUpdates)
            {
                _roundDeadline = now + _options.RoundTimeout;
                Log?.Invoke($"round {_round} reached its deadline with {_accepted.Count} of {_options.MinUpdates} needed updates; extended to {_roundDeadline:HH:mm:ss}");
                return null;
            }
            if (!quorum && !deadline) return null;
            summary = CloseRound(out toEvaluate);
        }
        // Evaluation runs after the new version is published and outside the lock: volunteers can already
        // lease and submit for the next round while the held-out loss of this one is measured.
        if (toEvaluate is not null)
        {
            double eval = _units.Evaluate(toEvaluate);
            _store.SetEvalLoss(summary.Round, eval);
            lock (_gate) _lastEvalLoss = eval;
            summary = summary with { EvalLoss = eval };
        }
        RoundClosed?.Invoke(summary);
        return summary;
    }

    private RoundSummary CloseRound(out ParameterSet? toEvaluate)
    {
        var watch = Stopwatch.StartNew();
        long round = _round;
        var delta = new ParameterSet();
        int skipped = 0, underReplicated = 0;
        var distancePenalties = new Dictionary<string, double>(StringComparer.Ordinal);
        // Aggregate in work-unit order, not arrival order: the result is then the same however the network
        // interleaved the uploads (floating-point sums depend on order), so runs are reproducible.
        var ordered = _accepted.OrderBy(u => u.Record.Version).ThenBy(u => u.UnitIndex).ToList();
        foreach (var key in _groups.Keys)
        {
            var contributors = ordered.Where(u => key == TensorGroups.Trunk || u.Payload.Contains(_groups.NamesOf(key)[0])).ToList();
            if (contributors.Count == 0) continue;
            if (key != TensorGroups.Trunk && contributors.Count < _options.Replication) underReplicated++;
            var inputs = contributors.Select(u => (ReadOnlyMemory<float>)_groups.Flatten(key, u.Payload)).ToList();
            var weights = contributors.Select(u => (double)Math.Max(1, u.Record.Tokens)).ToList();
            AggregationOutcome outcome;
            try
            {
                outcome = _pipelines[key].Aggregate(inputs, weights);
            }
            catch (AggregationConfigException e)
            {
                // Too few holders for a robust rule: leave this group as it is rather than trust fewer inputs.
                skipped++;
                Log?.Invoke($"round {round}: {key} not updated ({e.Message})");
                continue;
            }
            foreach (var t in _groups.Unflatten(key, outcome.Result)) delta.Add(t);
            var ratios = ReputationBook.DistanceRatios(inputs, outcome.Result);
            for (int i = 0; i < contributors.Count; i++)
            {
                string id = contributors[i].Record.VolunteerId;
                double change = ratios[i] > ReputationBook.OutlierRatio ? -ReputationBook.OutlierPenalty : 0;
                distancePenalties[id] = Math.Min(distancePenalties.GetValueOrDefault(id), change);
            }
        }
        if (delta.Count > 0) _outer.Step(_global, delta);
        var aggregationTime = watch.Elapsed;

        double trainLoss = _accepted.Count == 0 ? double.NaN
            : _accepted.Sum(u => u.Record.Loss * Math.Max(1, u.Record.Tokens)) / _accepted.Sum(u => (double)Math.Max(1, u.Record.Tokens));
        _round = round + 1;
        string checkpoint = _checkpoints.Save(_round, _global, _outer, _pipelines.ToDictionary(p => p.Key, p => (float[]?)p.Value.ExportState()));

        var reputations = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var u in _accepted)
        {
            string id = u.Record.VolunteerId;
            double change = distancePenalties.GetValueOrDefault(id) < 0 ? distancePenalties[id] : ReputationBook.Reward;
            reputations[id] = _reputation.Adjust(id, change);
        }
        _store.AdvanceRound(round, NowMs(), double.IsNaN(trainLoss) ? null : trainLoss, null, checkpoint, _round, reputations);
        var publishTime = watch.Elapsed; // the new version is durable and served from here on

        foreach (var (id, score) in reputations.Where(r => r.Value < _options.BanThreshold))
        {
            var evidence = _accepted.Last(u => u.Record.VolunteerId == id).Record;
            if (_store.GetVolunteer(id) is { Banned: false })
            {
                BanLocked(id, $"reputation {score:0.##}: updates far from the robust aggregate", evidence.Envelope, evidence.Signature);
                Log?.Invoke($"banned volunteer {id[..12]}: updates repeatedly far from the robust aggregate");
            }
        }
        toEvaluate = _options.EvalBatches > 0 ? _global.Clone() : null;
        if (underReplicated > 0)
            Log?.Invoke($"round {round}: {underReplicated} expert groups had fewer than --replication {_options.Replication} holders " +
                        "(more volunteers, more memory per volunteer or a larger quorum raise coverage)");
        var summary = new RoundSummary(round, _round, _accepted.Count, trainLoss, null, skipped, aggregationTime)
        {
            PublishTime = publishTime,
            UnderReplicatedGroups = underReplicated,
        };
        ResetRoundState();
        _checkpoints.Prune(keepFrom: _round - 2);
        return summary;
    }

    private void ResetRoundState()
    {
        _accepted.Clear();
        // Leases of the last MaxStaleness rounds stay valid until their deadlines (bounded staleness); older ones go.
        foreach (var old in _leases.Values.Where(l => _round - l.Round > _options.MaxStaleness).Select(l => l.Id).ToList())
            _leases.Remove(old);
        _nextUnitIndex = 0;
        _roundDeadline = _time.GetUtcNow() + _options.RoundTimeout;
    }

    private void ExpireOverdueLeases()
    {
        long now = NowMs();
        foreach (var lease in _leases.Values.Where(l => l.State == "leased" && l.DeadlineMs < now).ToList())
            ExpireLease(lease, "deadline passed");
    }

    private void ExpireLease(WorkUnitRecord lease, string why)
    {
        _store.SetWorkUnitState(lease.Id, "expired");
        _leases[lease.Id] = lease with { State = "expired" };
        Log?.Invoke($"work unit {lease.Id} expired ({why}); its shard will be reissued");
    }

    private Dictionary<ExpertId, int> Coverage()
    {
        var coverage = new Dictionary<ExpertId, int>();
        foreach (var lease in _leases.Values.Where(l => l.State != "expired" && l.Round == _round))
        {
            foreach (var id in ShardText.Parse(lease.Shard).Experts)
                coverage[id] = coverage.GetValueOrDefault(id) + 1;
        }
        return coverage;
    }

    // ---- restore ------------------------------------------------------------------------------

    private void Restore()
    {
        var rounds = _store.Rounds();
        if (rounds.Count == 0)
        {
            _round = 0;
            _checkpoints.Save(0, _global, _outer, _pipelines.ToDictionary(p => p.Key, p => (float[]?)p.Value.ExportState()));
            _store.OpenRound(0, 0, NowMs());
            ResetRoundState();
            return;
        }
        var current = rounds[^1];
        _round = current.Round;
        var (parameters, outerState, pipelineStates) = _checkpoints.Load(current.Version);
        _global = parameters;
        _outer = OuterOptimizer.LoadState(outerState);
        foreach (var (key, state) in pipelineStates)
            if (_pipelines.TryGetValue(key, out var p) && state is { Length: > 0 }) p.ImportState(state);
        _lastEvalLoss = rounds.LastOrDefault(r => r.EvalLoss is not null)?.EvalLoss;
        ResetRoundState();
        foreach (var v in _store.Volunteers()) _reputation.Load(v.Id, v.Reputation);
        for (long r = Math.Max(0, _round - _options.MaxStaleness); r <= _round; r++)
        {
            foreach (var w in _store.WorkUnits(r))
            {
                _leases[w.Id] = w;
                if (r == _round) _nextUnitIndex = Math.Max(_nextUnitIndex, w.UnitIndex + 1);
            }
        }
        foreach (var u in _store.Updates(_round))
        {
            var envelope = ParseEnvelope(u.Envelope);
            var shard = ShardText.FromEnvelope(envelope);
            int index = _store.GetWorkUnit(u.WorkUnitId)?.UnitIndex ?? int.MaxValue;
            _accepted.Add(new AcceptedUpdate(u, _verifier.Decode(u.PayloadPath, envelope, shard, _units.Codec), shard, index));
        }
        Log?.Invoke($"restored round {_round} from {_options.DataDirectory}: {_accepted.Count} accepted updates, {_leases.Count} work units");
    }

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
        _store.Dispose();
        _signal.Dispose();
    }

    private sealed record AcceptedUpdate(UpdateRecord Record, ParameterSet Payload, ShardSpec Shard, int UnitIndex);
}
