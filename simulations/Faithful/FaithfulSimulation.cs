using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Hivemind.Aggregation;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Participation;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using TensorCodec = Hivemind.Protocol.Tensors.TensorCodec;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Simulations.Faithful;

/// <summary>
/// Drives the real <see cref="CoordinatorEngine"/> and the real volunteer trainer under virtual time: a discrete-event loop
/// decides when each volunteer joins, leaves, leases, finishes and uploads; the engine's clock is a fake one set to each event.
/// Single-threaded, so TorchSharp's thread-static dispose scopes and the seeded draws stay deterministic.
/// </summary>
public sealed class FaithfulSimulation : IDisposable
{
    private const double SecondsPerHour = 3600;
    private const double SecondsPerMs = 1e-3;
    private const double BitsPerByte = 8;
    private const double BitsPerMegabit = 1e6;

    // A forward pass is a third of a training step's FLOPs (Kaplan et al. 2020).
    private const double ForwardShareOfTraining = 1.0 / 3;

    // Leases expire when the clock passes their deadline strictly; tick one millisecond after.
    private const double AfterDeadlineSeconds = 1e-3;

    // A round whose deadline passed this many times in a row with too few accepted updates to close has stalled: nothing in the run
    // changes what the engine refuses (e.g. attackers who taught the running norm bound their tiny norms, so every honest update is
    // refused), so it would be extended forever. The run ends there, as stalled.
    private const int MaxDeadlineExtensions = 3;

    // Every loop is bounded: far more events than any run needs (joins, leaves, leases, arrivals and ticks per round).
    private const int EventsPerVolunteerRound = 64;

    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Bound on waiting for the engine's spot checks after one submission (a few recomputations of a unit, on a loaded machine).
    private static readonly TimeSpan SpotCheckPatience = TimeSpan.FromMinutes(10);

    private readonly FaithfulConfig _config;
    private readonly string _scratch;
    private readonly FakeTimeProvider _clock = new(Epoch);
    private readonly CoordinatorEngine _engine;
    private readonly EventQueue<FaithfulEvent> _queue = new();
    private readonly Random _random;
    private readonly VirtualVolunteer?[] _slots;
    private readonly int[] _generations;
    private readonly OmniscientAttacker? _attacker;
    private readonly List<UnitInFlight> _roundUnits = [];
    private readonly List<UnitInFlight> _roundAccepted = [];
    private readonly List<FaithfulRound> _rounds = [];
    private readonly Dictionary<string, int> _rejections = new(StringComparer.Ordinal);
    private readonly HashSet<string> _byzantineIds = new(StringComparer.Ordinal);
    private readonly long _memory;
    private readonly double _unitFlops;
    private readonly double _evalFlops;
    private double _openedAt;
    private long _bytesDown;
    private readonly DataFetchModel _dataFetches = new(); // issue 13
    private long _bytesUp;
    private int _leased;
    private int _lost;
    private double _holderSum;
    private int _holderCount;
    private double _trainingWall;
    private bool _diverged;

    // What the run holds for its open round (units in flight and the attacker's copies of honest updates), at its largest; and units
    // the engine handed back after rejecting their update, which were not trained again (memory leak of session 7, issue 15).
    private int _peakHeld;
    private int _repeatsSkipped;
    private readonly HashSet<string> _trainedUnits = new(StringComparer.Ordinal);
    private int _trainings;

    // Virtual second the engine's open round reaches its deadline (the engine extends it when it has too few updates then).
    private double _roundDeadlineAt;
    private int _extensions;
    private bool _stalled;

    // Eager units (issue 16): compute seconds of every unit that reached the engine, and units finished before their round opened.
    private double _trainingSeconds;
    private int _eagerUnits;
    private readonly List<UnitInFlight> _waitingForOpen = [];

    // Spot checks (issue 12): verdicts arrive on the engine's check worker; the event loop waits for them after each submission,
    // so a ban lands before the next event, exactly where it would on a coordinator whose checks are fast.
    private readonly ConcurrentQueue<SpotCheckOutcome> _checks = new();
    private readonly Dictionary<string, int> _checkBanRound = new(StringComparer.Ordinal);
    private int _acceptedSubmissions;
    private int _byzantineAccepted;
    private int _byzantineDropped;
    private int _spotChecksRun;
    private int _honestFlagged;

    private FaithfulSimulation(FaithfulConfig config)
    {
        _config = config;
        _scratch = Path.Combine(Path.GetTempPath(), "hm-faithful-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_scratch);
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        _engine = CoordinatorEngine.Open(Options(config, Path.Combine(_scratch, "coordinator")), _clock);
        _engine.SpotCheckDecided += _checks.Enqueue;
        _random = new Random(config.Seed);
        _slots = new VirtualVolunteer?[config.Volunteers];
        _generations = new int[config.Volunteers];
        if (config.Attack is { } attack && attack != FaithfulConfig.LabelFlipAttack && config.ByzantineSlots > 0)
        {
            _attacker = new OmniscientAttacker(AttackFactory.Create(attack), config.Seed);
        }

        var model = _engine.Model;
        int experts = config.ExpertsPerLayer ?? model.Experts;
        _memory = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(experts);
        _unitFlops = model.TrainingFlopsPerTokenAt(config.Engine.SequenceLength) * config.TokensPerUnit;
        _evalFlops = model.TrainingFlopsPerTokenAt(config.Engine.SequenceLength) * ForwardShareOfTraining
            * config.Engine.EvalBatches * config.Engine.BatchSize * config.Engine.SequenceLength;
    }

    /// <summary>Runs <paramref name="config"/> to its last round and returns what it measured.</summary>
    public static FaithfulResult Run(FaithfulConfig config)
    {
        using var simulation = new FaithfulSimulation(config);
        return simulation.Execute();
    }

    /// <summary>The engine options a faithful run uses: the config's engine settings with the virtual-time changes only.</summary>
    public static CoordinatorOptions Options(FaithfulConfig c, string dataDirectory) => FaithfulConfig.VirtualTime(c.Engine, dataDirectory);

    private FaithfulResult Execute()
    {
        double initial = _engine.EvaluateCurrent();
        for (int slot = 0; slot < _config.Volunteers; slot++)
        {
            _queue.Schedule(0, new FaithfulEvent(FaithfulEventKind.Join, slot));
        }

        _roundDeadlineAt = _config.Engine.RoundTimeout.TotalSeconds;
        _queue.Schedule(_roundDeadlineAt + AfterDeadlineSeconds, new FaithfulEvent(FaithfulEventKind.Deadline));
        long budget = EventBudget();
        for (long n = 0; !_engine.Finished && !_diverged && !_stalled && _queue.TryNext(out var e); n++)
        {
            if (n >= budget)
            {
                throw new InvalidOperationException($"faithful run exceeded {budget} events after {_rounds.Count} of {_config.Rounds} rounds; the round rules never let it finish (check quorum {_config.Quorum} against {_config.Volunteers} volunteers and the deadlines)");
            }

            _clock.SetUtcNow(Epoch + TimeSpan.FromSeconds(_queue.Now));
            Handle(e);
        }

        if (!_engine.Finished && !_diverged && !_stalled)
        {
            throw new InvalidOperationException($"faithful run stopped after {_rounds.Count} of {_config.Rounds} rounds with nothing left to happen");
        }

        var bannedIds = _engine.Store.Volunteers().Where(v => v.Banned).Select(v => v.Id).ToList();
        int banned = bannedIds.Count;
        return new FaithfulResult(_config, initial, _engine.OptimalLoss, _rounds, _bytesDown, _bytesUp, _leased, _lost,
            new SortedDictionary<string, int>(_rejections, StringComparer.Ordinal), banned,
            _holderCount == 0 ? 0 : _holderSum / _holderCount, _trainingWall, _diverged)
        {
            BannedByzantine = bannedIds.Count(_byzantineIds.Contains),
            ByzantineKeys = _byzantineIds.Count,
            LateAccepted = LateAcceptedInStore(out int maxLag),
            MaxLag = maxLag,
            StaleRejected = (int)_engine.Store.Rejections().GetValueOrDefault(RejectReasons.Token(RejectReason.StaleRound)),
            SpotChecksRun = _spotChecksRun,
            HonestFlagged = _honestFlagged,
            CaughtByzantine = _checkBanRound.Count,
            RoundsToBanAll = _byzantineIds.Count > 0 && _checkBanRound.Count == _byzantineIds.Count ? _checkBanRound.Values.Max() : null,
            ByzantineAccepted = _byzantineAccepted,
            ByzantineDropped = _byzantineDropped,
            AcceptedSubmissions = _acceptedSubmissions,
            TrainingSeconds = _trainingSeconds,
            EagerUnits = _eagerUnits,
            StalledAtRound = _stalled ? _rounds.Count : null,
            PeakUnitsHeld = _peakHeld,
            RepeatsSkipped = _repeatsSkipped,
            DistinctUnitsTrained = _trainedUnits.Count,
            Trainings = _trainings,
        };
    }

    /// <summary>
    /// The most events a run that finishes can take: <see cref="EventsPerVolunteerRound"/> per volunteer and round, plus one ask per
    /// draw window for each volunteer kept waiting through a whole round (a draw with no slot it may win answers "ask again" until the
    /// round times out).
    /// </summary>
    private long EventBudget()
    {
        double window = _config.Engine.ParticipantDrawWindow.TotalSeconds;
        long asks = window > 0 ? (long)Math.Ceiling(_config.Engine.RoundTimeout.TotalSeconds / window) : 0;
        return (EventsPerVolunteerRound + asks) * _config.Volunteers * (_config.Rounds + 1);
    }

    // Counted from the engine's own ledger: an accepted update is late when it was trained from a version older than the
    // round it was aggregated into (bounded staleness).
    private int LateAcceptedInStore(out int maxLag)
    {
        int late = 0;
        maxLag = 0;
        foreach (var round in _engine.Store.Rounds())
        {
            foreach (var u in _engine.Store.Updates(round.Round).Where(u => u.Version < u.Round))
            {
                late++;
                maxLag = Math.Max(maxLag, (int)(u.Round - u.Version));
            }
        }

        return late;
    }

    private void Handle(FaithfulEvent e)
    {
        switch (e.Kind)
        {
            case FaithfulEventKind.Join:
                Join(e.Slot);
                break;
            case FaithfulEventKind.Leave:
                Leave(e.Slot, e.Generation);
                break;
            case FaithfulEventKind.Arrive:
                Arrive(e.Unit!);
                break;
            case FaithfulEventKind.Resend:
                Resend(e.Unit!);
                break;
            case FaithfulEventKind.Deadline:
                if (!Tick() && _queue.Now >= _roundDeadlineAt && !_engine.Finished)
                {
                    // The round reached its deadline without the updates to close: the engine extended it by a round timeout.
                    if (++_extensions > MaxDeadlineExtensions)
                    {
                        _stalled = true;
                        break;
                    }

                    _roundDeadlineAt = _queue.Now + _config.Engine.RoundTimeout.TotalSeconds;
                    _queue.Schedule(_roundDeadlineAt + AfterDeadlineSeconds, new FaithfulEvent(FaithfulEventKind.Deadline));
                }

                OfferAll();
                break;
            case FaithfulEventKind.Open:
                ResubmitWaiting();
                OfferAll();
                break;
            case FaithfulEventKind.Retry:
                if (_slots[e.Slot] is { } asking && asking.Generation == e.Generation && asking.AskAgainAt == _queue.Now)
                {
                    asking.AskAgainAt = null;
                    Offer(asking);
                }

                break;
        }
    }

    private void Join(int slot)
    {
        var device = PickDevice();
        var identity = VolunteerIdentity.Create();
        var (nonce, _) = _engine.IssueChallenge(identity.PublicKey);
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, _engine.RunId, nonce, (ulong)_memory, device.Name, "");
        var (_, session) = _engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, (ulong)_memory, device.Name, "");
        double down = _config.DownloadMbps.Sample(_random);
        double up = _config.UploadMbps.Sample(_random);
        double latency = _config.LatencyMs.Sample(_random) * SecondsPerMs;
        bool straggler = _random.NextDouble() < _config.StragglerFraction;
        int generation = ++_generations[slot];
        var volunteer = new VirtualVolunteer(slot, generation, identity, session, device, down, up, latency,
            straggler ? _config.StragglerSlowdown : 1, _config.IsByzantineSlot(slot))
        {
            DomainMix = _config.DomainAlpha is { } alpha ? VolunteerData.Mix(alpha, _config.Seed, slot, generation) : null,
        };
        _slots[slot] = volunteer;
        if (volunteer.Byzantine)
        {
            _byzantineIds.Add(VolunteerIds.FromPublicKey(identity.PublicKey));
        }

        if (_config.SessionHours is { } session_)
        {
            _queue.Schedule(_queue.Now + session_.Sample(_random) * SecondsPerHour, new FaithfulEvent(FaithfulEventKind.Leave, slot, generation));
        }

        Offer(volunteer);
    }

    private void Leave(int slot, int generation)
    {
        if (_slots[slot] is not { } v || v.Generation != generation)
        {
            return;
        }

        // A volunteer that vanishes does not say goodbye: its lease expires and the engine reissues the unit. A slot it won in the
        // participant draw (its ask was at most a window ago) frees when its claim lapses: the idle volunteers' polling notices then.
        v.Dispose();
        _slots[slot] = null;
        if (_config.Engine.ParticipantDrawWindow > TimeSpan.Zero)
        {
            var lapse = _config.Engine.ParticipantDrawWindow + ParticipantDraw.ClaimWindowOf(_config.Engine.ParticipantDrawWindow);
            _queue.Schedule(_queue.Now + lapse.TotalSeconds + AfterDeadlineSeconds, new FaithfulEvent(FaithfulEventKind.Open));
        }

        _queue.Schedule(_queue.Now + _config.OfflineHours.Sample(_random) * SecondsPerHour, new FaithfulEvent(FaithfulEventKind.Join, slot));
    }

    private void OfferAll()
    {
        foreach (var v in _slots)
        {
            // A volunteer told to come back for the participant draw sleeps until then, as a real one does; the others model the
            // idle volunteers' fast polling (BusyRetry), which notices at once that a round opened or a lease expired.
            if (v is not null && v.AskAgainAt is null)
            {
                Offer(v);
            }
        }
    }

    private void Offer(VirtualVolunteer v)
    {
        if (v.Busy || v.Banned || _engine.Finished || _queue.Now < _openedAt)
        {
            return;
        }

        WorkDecision decision;
        try
        {
            decision = _engine.RequestWork(v.Session, _config.Eager && v.LastAccepted is not null);
        }
        catch (ProtocolException e) when (e.Reason == RejectReason.Banned)
        {
            // Reputation banned this key (updates far from the robust aggregate): it stays online but idle, as a real
            // banned volunteer would; the ban count is in the result.
            v.Banned = true;
            return;
        }

        if (decision.Unit is not { } unit)
        {
            // Busy answers ("all units leased", "quorum reached", "your share is taken") model a volunteer polling every BusyRetry: it asks
            // again when something frees a slot (a round opens, a lease expires, a check drops an update, a draw winner's claim lapses),
            // each of which offers work to every idle volunteer. Any other wait is the participant draw's: ask right after it.
            if (decision.RetryAfter != CoordinatorEngine.BusyRetry && !_engine.Finished)
            {
                double at = _queue.Now + decision.RetryAfter.TotalSeconds + AfterDeadlineSeconds;
                if (v.AskAgainAt != at)
                {
                    v.AskAgainAt = at;
                    _queue.Schedule(at, new FaithfulEvent(FaithfulEventKind.Retry, v.Slot, v.Generation));
                }
            }

            return;
        }

        if (unit.Id == v.RejectedUnitId)
        {
            // The engine used to hand a live lease back to its holder (since issue 15 a refusal ends the lease, so this guards against a
            // coordinator that still does). The old real volunteer would retrain it at once and get the same bytes
            // and the same rejection until the lease expires; under an attack that locks honest updates out (the running norm bound
            // learning the attackers' norms) that was tens of thousands of identical trainings per round in virtual time, each kept
            // until the round closed (session 7's "memory leak"). The volunteer waits instead: the next round or the lease's expiry
            // offers it work again, and the engine sees the same accepted updates either way.
            if (v.LapseAskScheduled != unit.Id)
            {
                // When the lease lapses the engine reissues the slot; the volunteer asks again then (once per rejected unit, or every
                // idle volunteer's ask at every event would schedule another).
                v.LapseAskScheduled = unit.Id;
                _repeatsSkipped++;
                _queue.Schedule(Math.Max((unit.Deadline - Epoch).TotalSeconds + AfterDeadlineSeconds, _queue.Now), new FaithfulEvent(FaithfulEventKind.Deadline));
            }

            return;
        }

        var shard = _engine.ShardParameters(v.Session, unit.Version, unit.Id);
        var spec = ToSpec(unit);
        if (v.DomainMix is { } mix)
        {
            // Heterogeneous data: the volunteer trains the unit's slice on its own domain mix, as a real volunteer trains its own data.
            spec = spec with { Data = spec.Data with { DomainMix = mix } };
        }

        var start = shard;
        bool cached = false;
        if (unit.BaseUnitId is { } baseUnit)
        {
            // An eager unit starts from the volunteer's own result (issue 16), computed as the real volunteer computes it.
            if (v.LastAccepted is not { } last || last.UnitId != baseUnit)
            {
                throw new InvalidOperationException($"the engine leased eager unit {unit.Id} on base {baseUnit}, but the volunteer's last accepted unit is {v.LastAccepted?.UnitId ?? "none"}");
            }

            start = EagerBase.Apply(shard, TensorCodec.Decode(last.Payload, last.Payload.LongLength).Tensors);
            cached = v.HeldVersion == unit.Version; // same shard and version as the unit it follows: the download is in its cache
            _eagerUnits++;
        }

        v.HeldVersion = unit.Version;
        var flight = new UnitInFlight(v, spec, shard, _queue.Now);
        bool labelFlip = v.Byzantine && _config.Attack == FaithfulConfig.LabelFlipAttack;
        if (!v.Byzantine || labelFlip)
        {
            if (!AllFinite(shard))
            {
                // An attack drove the global model to non-finite values: no volunteer can train it, so the run ends as diverged.
                _diverged = true;
                return;
            }

            _trainedUnits.Add(unit.Id);
            _trainings++;
            var watch = Stopwatch.StartNew();
            try
            {
                flight.Update = WorkUnitRunner.Run(spec, start, v.Identity, labelFlip ? Behavior.LabelFlip : Behavior.Honest);
            }
            catch (NonFiniteLossException)
            {
                // The weights are finite but so large that the loss or gradient overflows: a real volunteer fails the same way.
                // Any other error (a native one included) is not divergence: it propagates to FaithfulRunner, which names the run.
                _diverged = true;
                return;
            }
            finally
            {
                _trainingWall += watch.Elapsed.TotalSeconds;
            }

            if (!labelFlip)
            {
                _attacker?.SawHonest(unit.Id, v.Identity.VolunteerId, flight.Update);
            }
        }

        // A volunteer rebuilds θ_0 from the unit's init_seed (issue 16): zero steps to download at version 0. The engine here keeps no
        // steps (full downloads), so every later version comes in full, by the coordinator's rule (DownloadChoice).
        long? fromSeed = unit.InitSeed is not null && unit.Version == 0 ? 0 : null;
        long full = (long)DownloadChoice.Bytes(fromSeed, TensorCodec.EncodedLength(shard, PayloadCodec.Fp32));
        long down = (cached ? 0 : full) + _dataFetches.BytesFor(v, spec.Data); // data: issue 13
        long up = flight.Update?.Payload.Length ?? TensorCodec.EncodedLength(shard, spec.CodecSettings);
        flight.ComputeSeconds = _unitFlops / v.Device.SustainedFlops(_config.Precision) * v.Slowdown;
        flight.TransferSeconds = Transfer(down, v.DownMbps, v.LatencySeconds) + Transfer(up, v.UpMbps, v.LatencySeconds);
        _bytesDown += down;
        _leased++;
        v.Busy = true;
        _roundUnits.Add(flight);
        _peakHeld = Math.Max(_peakHeld, _roundUnits.Count + (_attacker?.Held ?? 0));
        _queue.Schedule(flight.ArrivesAt, new FaithfulEvent(FaithfulEventKind.Arrive, v.Slot, v.Generation, flight));
        double expiry = (unit.Deadline - Epoch).TotalSeconds + AfterDeadlineSeconds;
        _queue.Schedule(Math.Max(expiry, _queue.Now), new FaithfulEvent(FaithfulEventKind.Deadline));
    }

    private void Arrive(UnitInFlight unit)
    {
        var v = unit.Volunteer;
        if (!ReferenceEquals(_slots[v.Slot], v))
        {
            _lost++;
            _roundUnits.Remove(unit);
            return;
        }

        v.Busy = false;
        if (unit.Update is null)
        {
            _attacker!.Craft(_roundUnits.Where(u => u.Volunteer.Byzantine).ToList(), unit.Spec.Round);
        }

        _bytesUp += unit.Update!.Payload.Length;
        Submit(unit);
    }

    /// <summary>Eager units that finished before their round opened are sent again once it has (the real volunteer resends them).</summary>
    private void ResubmitWaiting()
    {
        var waiting = _waitingForOpen.ToList();
        _waitingForOpen.Clear();
        foreach (var unit in waiting)
        {
            // The real volunteer's rejected attempt stopped after the envelope: the payload is uploaded again now.
            var v = unit.Volunteer;
            double upload = Transfer(unit.Update!.Payload.Length, v.UpMbps, v.LatencySeconds);
            _bytesUp += unit.Update.Payload.Length;
            _queue.Schedule(_queue.Now + upload, new FaithfulEvent(FaithfulEventKind.Resend, v.Slot, v.Generation, unit));
        }
    }

    private void Resend(UnitInFlight unit)
    {
        if (ReferenceEquals(_slots[unit.Volunteer.Slot], unit.Volunteer))
        {
            unit.Volunteer.Busy = false;
            Submit(unit);
        }
    }

    private void Submit(UnitInFlight unit)
    {
        var v = unit.Volunteer;
        var update = unit.Update!;
        bool dropped = false;
        string path = Path.Combine(_scratch, Guid.NewGuid().ToString("N") + ".part");
        File.WriteAllBytes(path, update.Payload);
        try
        {
            _engine.Submit(new SubmittedUpdate(update.Envelope.Bytes, update.Envelope.Signature, path, update.Payload.Length,
                SHA256.HashData(update.Payload), VolunteerIds.FromPublicKey(v.Identity.PublicKey)));
            _roundAccepted.Add(unit);
            v.LastAccepted = (unit.Spec.Id, update.Payload);
            _trainingSeconds += unit.ComputeSeconds;
            _acceptedSubmissions++;
            _byzantineAccepted += v.Byzantine ? 1 : 0;
            dropped = AwaitSpotChecks();
        }
        catch (ProtocolException e) when (e.Reason == RejectReason.Unavailable && unit.Spec.BaseUnitId is not null)
        {
            // Finished before its round opened: resent at the open, as the real volunteer does.
            v.Busy = true;
            _waitingForOpen.Add(unit);
            return;
        }
        catch (ProtocolException e)
        {
            string reason = RejectReasons.Token(e.Reason);
            _rejections[reason] = _rejections.GetValueOrDefault(reason) + 1;
            v.LastAccepted = null;
            v.RejectedUnitId = unit.Spec.Id;
        }

        // Answered (accepted or rejected): no longer in flight, so the attacker's next craft does not look at it.
        _roundUnits.Remove(unit);
        Tick();
        if (dropped)
        {
            // A failed check dropped accepted updates, so their slots are free again: the idle volunteers' polling finds them now.
            OfferAll();
        }
        else
        {
            Offer(v);
        }
    }

    /// <summary>
    /// Waits for the checks the last submission drew and books their verdicts (ban round, dropped updates, false positives). Returns
    /// whether a verdict dropped accepted updates of the current round.
    /// </summary>
    private bool AwaitSpotChecks()
    {
        bool dropped = false;
        if (!_engine.WaitForSpotChecks(SpotCheckPatience))
        {
            throw new InvalidOperationException($"the engine's spot checks did not finish within {SpotCheckPatience.TotalMinutes} minutes ({_engine.PendingSpotChecks} pending)");
        }

        while (_checks.TryDequeue(out var o))
        {
            _spotChecksRun++;
            if (o.Verdict != SpotCheckVerdict.Failed)
            {
                continue;
            }

            dropped |= o.DroppedUpdates > 0;
            if (_byzantineIds.Contains(o.VolunteerId))
            {
                _checkBanRound.TryAdd(o.VolunteerId, _rounds.Count + 1);
                _byzantineDropped += o.DroppedUpdates;
            }
            else
            {
                _honestFlagged++;
            }
        }

        return dropped;
    }

    /// <summary>Lets the engine expire leases and close the round; returns whether a round closed.</summary>
    private bool Tick()
    {
        if (_engine.Tick() is not { } summary)
        {
            return false;
        }

        double now = _queue.Now;
        double close = CloseSeconds();
        var accepted = _roundAccepted;
        _rounds.Add(new FaithfulRound(
            summary.Round, summary.Updates, summary.MeanTrainLoss, summary.EvalLoss ?? double.NaN, now + close - _openedAt,
            Mean(accepted, u => u.ComputeSeconds), Mean(accepted, u => u.TransferSeconds), Mean(accepted, u => now - u.ArrivesAt),
            close, summary.AggregationTime.TotalSeconds));
        _roundAccepted.Clear();
        _roundUnits.Clear();
        _attacker?.NewRound();
        _openedAt = now + close;
        _queue.Schedule(_openedAt, new FaithfulEvent(FaithfulEventKind.Open));
        _roundDeadlineAt = now + _config.Engine.RoundTimeout.TotalSeconds;
        _extensions = 0;
        _queue.Schedule(_roundDeadlineAt + AfterDeadlineSeconds, new FaithfulEvent(FaithfulEventKind.Deadline));
        return true;
    }

    private double CloseSeconds()
    {
        var model = _engine.Model;
        int cores = _config.AggregationCores;
        double seconds = SpecCost.Seconds(_config.Engine.TrunkRule, model.TrunkParameters, _roundAccepted.Count, cores);
        for (int layer = 0; layer < model.Layers && !model.Dense; layer++)
        {
            for (int e = 0; e < model.Experts; e++)
            {
                var id = new ExpertId(layer, e);
                int holders = _roundAccepted.Count(u => u.Spec.Shard.HoldsExpert(id));
                _holderSum += holders;
                _holderCount++;
                seconds += SpecCost.Seconds(_config.Engine.ExpertRule, model.ParametersPerExpert, holders, cores);
            }
        }

        return seconds + _evalFlops / _config.CoordinatorDevice.SustainedFlops(Precision.Fp32);
    }

    private double Transfer(long bytes, double linkMbps, double latency)
    {
        double share = _config.CoordinatorMbps / _config.Quorum;
        return latency + bytes * BitsPerByte / (Math.Min(linkMbps, share) * BitsPerMegabit);
    }

    private DeviceSpec PickDevice()
    {
        double total = _config.DeviceMix.Sum(d => d.Weight);
        double x = _random.NextDouble() * total;
        foreach (var (device, weight) in _config.DeviceMix)
        {
            if ((x -= weight) < 0)
            {
                return device;
            }
        }

        return _config.DeviceMix[^1].Device;
    }

    private static bool AllFinite(ParameterSet shard) => shard.All(t => Array.TrueForAll(t.Values, float.IsFinite));

    private static double Mean(List<UnitInFlight> units, Func<UnitInFlight, double> f) => units.Count == 0 ? 0 : units.Average(f);

    /// <summary>A core work unit as the volunteer sees it.</summary>
    public static UnitSpec ToSpec(WorkUnit unit) => new(
        unit.Id, unit.Round, unit.Version, unit.Model, unit.Shard, unit.Data, unit.Training,
        unit.Codec) { RunId = unit.RunId, KeptPerBlock = unit.KeptPerBlock, BaseUnitId = unit.BaseUnitId };

    /// <inheritdoc />
    public void Dispose()
    {
        _engine.Dispose();
        foreach (var v in _slots)
        {
            v?.Dispose();
        }

        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the OS cleans its temp directory.
        }
    }
}
