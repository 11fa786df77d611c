using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scale;

/// <summary>
/// The timing model without tensors: volunteers download their shard, compute H inner steps, upload the
/// pseudo-gradient; rounds close at quorum or deadline; volunteers come and go. All on virtual time.
/// </summary>
public sealed class ScaleSimulation
{
    private const double SecondsPerHour = 3600;
    private const double SecondsPerMillisecond = 1e-3;

    // Independent random streams, so that e.g. turning churn on does not change anyone's link speed.
    private const int AttributeStream = 1;
    private const int SessionStream = 2;

    // Guard against a modelling bug looping forever: no run needs more events than this per unit of work.
    private const long EventsPerVolunteerRound = 64;
    private const long EventBudgetFloor = 1_000_000;

    private readonly ScaleConfig _config;
    private readonly EventQueue<ScaleEvent> _queue = new();
    private readonly VolunteerSlot[] _slots;
    private readonly Random _attributes;
    private readonly Random _sessions;
    private readonly double[] _cumulativeWeights;
    private readonly double _flopsPerUnit;
    private readonly List<RoundRecord> _records = [];

    // Current round.
    private int _round = -1;
    private bool _roundOpen;
    private double _openedAt;
    private int _assigned;
    private int _accepted;
    private int _outstanding;
    private int _quorum;
    private int _lost;
    private double _sumCompute;
    private double _sumTransfer;
    private double _sumPhases;

    // Totals.
    private double _computeTotal;
    private double _transferTotal;
    private double _waitTotal;
    private double _aggregationTotal;
    private double _acceptedCompute;
    private double _bytes;
    private double _coordinatorEgress;
    private double _tokens;
    private int _acceptedUnits;
    private int _lostUnits;
    private int _abandonedUnits;
    private double _peakMemory;
    private int _memoryBoundRounds;

    // Online volunteer-seconds, integrated at every change of the online count.
    private int _onlineCount;
    private double _onlineSince;
    private double _onlineIntegral;

    /// <summary>Prepares a run of <paramref name="config"/>.</summary>
    public ScaleSimulation(ScaleConfig config)
    {
        _config = config;
        _slots = new VolunteerSlot[config.Volunteers];
        _attributes = new Random(unchecked(config.Seed * 7919 + AttributeStream));
        _sessions = new Random(unchecked(config.Seed * 7919 + SessionStream));
        _cumulativeWeights = new double[config.DeviceMix.Count];
        double sum = 0;
        for (int i = 0; i < config.DeviceMix.Count; i++)
        {
            sum += config.DeviceMix[i].Weight;
            _cumulativeWeights[i] = sum;
        }

        _flopsPerUnit = config.TokensPerUnit * config.Model.TrainingFlopsPerToken;
    }

    /// <summary>Runs <paramref name="config"/> to the end of its last round.</summary>
    public static ScaleResult Run(ScaleConfig config) => new ScaleSimulation(config).Run();

    /// <summary>Runs to the end of the last round.</summary>
    public ScaleResult Run()
    {
        // The first population has exactly round(fraction × count) stragglers at random slots, so small
        // pools are not at the mercy of a coin; newcomers after churn straggle with that probability.
        int stragglers = (int)Math.Round(_config.StragglerFraction * _slots.Length);
        var order = Enumerable.Range(0, _slots.Length).ToArray();
        _attributes.Shuffle(order);
        var straggling = new HashSet<int>(order.Take(stragglers));
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new VolunteerSlot();
            StartSession(i, 0, straggling.Contains(i));
        }

        _queue.Schedule(0, new ScaleEvent(EventKind.RoundOpen, -1, 0, 0));
        long budget = Math.Max(EventBudgetFloor, EventsPerVolunteerRound * _slots.Length * _config.Rounds);
        for (long handled = 0; _records.Count < _config.Rounds; handled++)
        {
            if (handled >= budget || !_queue.TryNext(out var e))
            {
                throw new InvalidOperationException($"scale run stopped after {handled} events with {_records.Count} of {_config.Rounds} rounds done; this is a simulator bug");
            }

            Handle(e);
        }

        double end = _openedAt;
        SetOnline(_onlineCount, end);
        return new ScaleResult(_records, end, _computeTotal, _transferTotal, _waitTotal, _aggregationTotal,
            _acceptedCompute, _onlineIntegral, _tokens, _bytes, _acceptedUnits, _lostUnits, _abandonedUnits, _coordinatorEgress)
        {
            PeakCoordinatorMemoryBytes = _peakMemory,
            MemoryBoundRounds = _memoryBoundRounds,
        };
    }

    private void Handle(ScaleEvent e)
    {
        double now = _queue.Now;
        switch (e.Kind)
        {
            case EventKind.RoundOpen:
                Open(e.Round, now);
                break;
            case EventKind.UnitArrived when _roundOpen && e.Round == _round && Holds(e):
                Arrived(_slots[e.Slot]);
                break;
            case EventKind.Deadline when _roundOpen && e.Round == _round:
                Close(now, CloseReason.Deadline);
                break;
            case EventKind.SessionEnd when _slots[e.Slot].Generation == e.Generation:
                EndSession(e.Slot, now);
                break;
            case EventKind.SessionStart:
                StartSession(e.Slot, now);
                break;
        }
    }

    private bool Holds(ScaleEvent e) => _slots[e.Slot].Generation == e.Generation && _slots[e.Slot].UnitRound == e.Round;

    private void Open(int round, double now)
    {
        _round = round;
        _roundOpen = true;
        _openedAt = now;
        _assigned = _accepted = _lost = 0;
        _sumCompute = _sumTransfer = _sumPhases = 0;
        int online = _slots.Count(s => s.Online);

        // The coordinator's link is shared equally by the round's transfers (a fluid approximation:
        // they all start at open; uploads spread out, so this overstates upload contention a little).
        double coordinatorShare = online > 0 ? _config.CoordinatorMbps / online : double.PositiveInfinity;
        var download = DownloadPlan(coordinatorShare);
        for (int i = 0; i < _slots.Length; i++)
        {
            var slot = _slots[i];
            if (!slot.Online)
            {
                continue;
            }

            slot.UnitRound = round;
            slot.DownloadSeconds = download.Seconds(slot);
            _bytes += DownloadBytes(slot);
            slot.HeldRound = round;
            slot.ComputeSeconds = _flopsPerUnit / slot.Device.SustainedFlops(_config.Precision) * slot.Slowdown;
            slot.UploadSeconds = TransferTime.Seconds(_config.UploadBytes, Math.Min(slot.UpMbps, coordinatorShare), slot.LatencySeconds);
            _assigned++;
            _queue.Schedule(now + slot.DownloadSeconds + slot.ComputeSeconds + slot.UploadSeconds,
                new ScaleEvent(EventKind.UnitArrived, i, round, slot.Generation));
        }

        _coordinatorEgress += download.CoordinatorBytes;
        _outstanding = _assigned;
        _quorum = Math.Max(1, (int)Math.Ceiling(_config.Quorum * _assigned - 1e-9));
        if (_quorum > _config.UpdatesInMemory)
        {
            // The engine holds every accepted update decoded until the round closes: a round closes once memory is full.
            _quorum = _config.UpdatesInMemory;
            _memoryBoundRounds++;
        }

        _queue.Schedule(now + _config.DeadlineSeconds, new ScaleEvent(EventKind.Deadline, -1, round, 0));
    }

    /// <summary>
    /// How this round's downloads are served. Without online relays (or with an unbounded coordinator link, where relays change
    /// nothing) everyone shares the coordinator's link. With relays the version spreads as a swarm of verified chunks, and the fluid
    /// bound of peer-assisted distribution (Kumar and Ross, 2006) applies: each of the N online volunteers gets
    /// min(its downlink, supply / N, coordinator link), where supply is the coordinator's link plus every online relay's lent uplink,
    /// and the coordinator sends its share of the supply, but each chunk at least once.
    /// </summary>
    private RoundDownloads DownloadPlan(double coordinatorShare)
    {
        int online = _slots.Count(s => s.Online);
        var relays = Enumerable.Range(0, Math.Min(_config.RelayCount, _slots.Length)).Where(i => _slots[i].Online).ToList();
        double total = _slots.Where(s => s.Online).Sum(DownloadBytes);
        if (relays.Count == 0 || double.IsPositiveInfinity(_config.CoordinatorMbps))
        {
            return new RoundDownloads(slot => TransferTime.Seconds(DownloadBytes(slot), Math.Min(slot.DownMbps, coordinatorShare), slot.LatencySeconds), total);
        }

        double supply = _config.CoordinatorMbps + relays.Sum(i => _slots[i].UpMbps * _config.RelayUploadShare);
        double perVolunteer = Math.Min(supply / online, _config.CoordinatorMbps);
        double largest = _slots.Where(s => s.Online).Max(DownloadBytes);
        double coordinatorBytes = Math.Max(largest, total * _config.CoordinatorMbps / supply);
        return new RoundDownloads(slot => TransferTime.Seconds(DownloadBytes(slot), Math.Min(slot.DownMbps, perVolunteer), slot.LatencySeconds), coordinatorBytes);
    }

    /// <summary>What this occupant downloads for the open round: steps from the version it holds, or the full shard (ScaleConfig.DownloadBytesFor).</summary>
    private double DownloadBytes(VolunteerSlot slot) => slot.HeldRound < 0 ? _config.NewcomerDownloadBytes(_round) : _config.DownloadBytesFor(_round - slot.HeldRound);

    private void Arrived(VolunteerSlot slot)
    {
        slot.UnitRound = -1;
        _outstanding--;
        _accepted++;
        _bytes += _config.UploadBytes;
        _sumCompute += slot.ComputeSeconds;
        _sumTransfer += slot.DownloadSeconds + slot.UploadSeconds;
        _sumPhases += slot.DownloadSeconds + slot.ComputeSeconds + slot.UploadSeconds;
        if (_accepted >= _quorum)
        {
            Close(_queue.Now, CloseReason.Quorum);
        }
        else if (_outstanding == 0)
        {
            Close(_queue.Now, CloseReason.NothingOutstanding);
        }
    }

    private void Close(double now, CloseReason reason)
    {
        _roundOpen = false;
        int abandoned = 0;
        foreach (var slot in _slots.Where(s => s.UnitRound == _round))
        {
            slot.UnitRound = -1;
            abandoned++;
        }

        double aggregation = _config.AggregationSeconds(_accepted);
        _peakMemory = Math.Max(_peakMemory, _config.ResidentModelBytes + _accepted * _config.DecodedUpdateBytes);
        double collect = now - _openedAt;
        double meanCompute = _accepted > 0 ? _sumCompute / _accepted : 0;
        double meanTransfer = _accepted > 0 ? _sumTransfer / _accepted : 0;
        double meanWait = _accepted > 0 ? collect - _sumPhases / _accepted : collect;
        _records.Add(new RoundRecord(_round, _openedAt, now, aggregation, _assigned, _accepted, _lost, abandoned, reason,
            meanCompute, meanTransfer, meanWait));

        _computeTotal += meanCompute;
        _transferTotal += meanTransfer;
        _waitTotal += meanWait;
        _aggregationTotal += aggregation;
        _acceptedCompute += _sumCompute;
        _tokens += _accepted * _config.TokensPerUnit;
        _acceptedUnits += _accepted;
        _abandonedUnits += abandoned;
        _lostUnits += _lost;

        _openedAt = now + aggregation;
        _queue.Schedule(_openedAt, new ScaleEvent(EventKind.RoundOpen, -1, _round + 1, 0));
    }

    private void StartSession(int index, double now, bool? straggler = null)
    {
        var slot = _slots[index];
        slot.Generation++;
        slot.Online = true;
        slot.HeldRound = -1; // a newcomer holds no downloaded version: θ_0 from the seed at most (ScaleConfig.NewcomerDownloadBytes)
        slot.UnitRound = -1;
        slot.Device = PickDevice();
        slot.DownMbps = _config.DownloadMbps.Sample(_attributes);
        slot.UpMbps = _config.UploadMbps.Sample(_attributes);
        slot.LatencySeconds = _config.LatencyMs.Sample(_attributes) * SecondsPerMillisecond;
        slot.Slowdown = (straggler ?? _attributes.NextDouble() < _config.StragglerFraction) ? _config.StragglerSlowdown : 1;
        SetOnline(_onlineCount + 1, now);
        if (_config.SessionHours is { } session)
        {
            _queue.Schedule(now + session.Sample(_sessions) * SecondsPerHour, new ScaleEvent(EventKind.SessionEnd, index, -1, slot.Generation));
        }
    }

    private void EndSession(int index, double now)
    {
        var slot = _slots[index];
        slot.Online = false;
        SetOnline(_onlineCount - 1, now);
        if (_roundOpen && slot.UnitRound == _round)
        {
            slot.UnitRound = -1;
            _outstanding--;
            _lost++;
            if (_outstanding == 0)
            {
                Close(now, _accepted >= _quorum ? CloseReason.Quorum : CloseReason.NothingOutstanding);
            }
        }

        _queue.Schedule(now + _config.OfflineHours.Sample(_sessions) * SecondsPerHour, new ScaleEvent(EventKind.SessionStart, index, -1, 0));
    }

    private void SetOnline(int count, double now)
    {
        _onlineIntegral += _onlineCount * (now - _onlineSince);
        _onlineSince = now;
        _onlineCount = count;
    }

    private DeviceSpec PickDevice()
    {
        if (_cumulativeWeights.Length == 1)
        {
            return _config.DeviceMix[0].Device;
        }

        double x = _attributes.NextDouble() * _cumulativeWeights[^1];
        int i = 0;
        while (i < _cumulativeWeights.Length - 1 && x >= _cumulativeWeights[i])
        {
            i++;
        }

        return _config.DeviceMix[i].Device;
    }
}
