using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Errors;
using Prometheus;

namespace Hivemind.Coordinator.Metrics;

/// <summary>
/// The coordinator's Prometheus metrics, in a registry of its own (two coordinators in one process do not mix):
/// updates by result and reason, bytes by direction, submit/aggregation/round-close durations, gauges from the
/// dashboard's snapshot, plus the .NET runtime's and ASP.NET Core's own meters and the process statistics.
/// </summary>
public sealed class CoordinatorMetrics : IDisposable
{
    /// <summary>Submit durations from 5 ms to ~80 s: a 100 MB update on a slow link takes tens of seconds.</summary>
    private static readonly double[] SubmitBuckets = Histogram.ExponentialBuckets(0.005, 2, 15);

    /// <summary>Aggregation and close durations from 1 ms to ~65 s.</summary>
    private static readonly double[] RoundBuckets = Histogram.ExponentialBuckets(0.001, 2, 17);

    /// <summary>Meters of the runtime and ASP.NET Core that are exported besides ours.</summary>
    private static readonly string[] ExportedMeterPrefixes = ["System.Runtime", "Microsoft.AspNetCore.", "System.Net."];

    private readonly CoordinatorEngine _engine;
    private readonly SnapshotPublisher _snapshots;
    private readonly Func<long> _bytesReceived;
    private readonly Counter _updates;
    private readonly Counter _bytes;
    private readonly Histogram _submitSeconds;
    private readonly Histogram _aggregationSeconds;
    private readonly Histogram _roundCloseSeconds;
    private readonly Gauge _round;
    private readonly Gauge _version;
    private readonly Gauge _evalLoss;
    private readonly Gauge _optimalLoss;
    private readonly Gauge _activeVolunteers;
    private readonly Gauge _volunteers;
    private readonly Gauge _leasedUnits;
    private readonly Gauge _tokensPerSecond;
    private readonly IDisposable _meterAdapter;
    private object? _excludedScope;

    public CoordinatorMetrics(CoordinatorEngine engine, SnapshotPublisher snapshots, Func<long> bytesReceived)
    {
        _engine = engine;
        _snapshots = snapshots;
        _bytesReceived = bytesReceived;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _updates = factory.CreateCounter("hivemind_updates_total", "Submitted updates decided since start, by result (accepted, rejected) and reject reason.",
            new CounterConfiguration { LabelNames = ["result", "reason"] });
        _bytes = factory.CreateCounter("hivemind_bytes_total", "Bytes since start by direction: in = update payloads read in full by the coordinator, out = parameters sent to volunteers.",
            new CounterConfiguration { LabelNames = ["direction"] });
        _submitSeconds = factory.CreateHistogram("hivemind_submit_duration_seconds", "Duration of SubmitUpdate calls (stream, verify, durable commit), accepted or not.",
            new HistogramConfiguration { Buckets = SubmitBuckets });
        _aggregationSeconds = factory.CreateHistogram("hivemind_aggregation_duration_seconds", "Robust aggregation and outer step of a closing round.",
            new HistogramConfiguration { Buckets = RoundBuckets });
        _roundCloseSeconds = factory.CreateHistogram("hivemind_round_close_duration_seconds", "From the decision to close a round to its new version being durable and served.",
            new HistogramConfiguration { Buckets = RoundBuckets });
        _round = factory.CreateGauge("hivemind_round", "The open training round.");
        _version = factory.CreateGauge("hivemind_model_version", "The model version volunteers train from.");
        _evalLoss = factory.CreateGauge("hivemind_heldout_loss", "Held-out loss of the latest evaluated version (nats per byte).");
        _optimalLoss = factory.CreateGauge("hivemind_optimal_loss", "Best achievable held-out loss where the corpus makes it known (nats per byte).");
        _activeVolunteers = factory.CreateGauge("hivemind_active_volunteers", "Volunteers that leased or returned work in the last 30 s, or hold a live lease.");
        _volunteers = factory.CreateGauge("hivemind_volunteers", "Volunteers known to the store, by state.", new GaugeConfiguration { LabelNames = ["state"] });
        _leasedUnits = factory.CreateGauge("hivemind_leased_work_units", "Work units leased and not yet returned or expired.");
        _tokensPerSecond = factory.CreateGauge("hivemind_tokens_per_second", "Tokens of accepted work per second over the last minute.");
        // Every reject reason is present from the start (at 0), so rate() and dashboards see a series before the first rejection.
        _updates.WithLabels("accepted", "").IncTo(0);
        foreach (var reason in Enum.GetValues<RejectReason>().Where(r => r != default))
            _updates.WithLabels("rejected", RejectReasons.Token(reason)).IncTo(0);

        DotNetStats.Register(Registry);
        _meterAdapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = factory,
            InstrumentFilterPredicate = i => ExportedMeterPrefixes.Any(p => i.Meter.Name.StartsWith(p, StringComparison.Ordinal))
                                             && (i.Meter.Scope is null || !ReferenceEquals(i.Meter.Scope, Volatile.Read(ref _excludedScope))),
        });
        Registry.AddBeforeCollectCallback(UpdateFromSnapshot);
        engine.UpdateDecided += OnUpdateDecided;
        engine.RoundClosed += OnRoundClosed;
    }

    public CollectorRegistry Registry { get; }

    /// <summary>
    /// Leaves out the meters created by <paramref name="meterFactory"/> (the dashboard's own web app): its page and API
    /// requests are monitoring, not coordinator traffic, and would only crowd the scrape. Call before that app starts.
    /// </summary>
    public void ExcludeMetersOf(object meterFactory) => Volatile.Write(ref _excludedScope, meterFactory);

    /// <summary>Records one SubmitUpdate call's duration (the host's pipeline times every call to that method).</summary>
    public void ObserveSubmit(TimeSpan elapsed) => _submitSeconds.Observe(elapsed.TotalSeconds);

    private void OnUpdateDecided(UpdateDecision d)
    {
        if (d.Reason is { } reason) _updates.WithLabels("rejected", RejectReasons.Token(reason)).Inc();
        else _updates.WithLabels("accepted", "").Inc();
    }

    private void OnRoundClosed(RoundSummary s)
    {
        _aggregationSeconds.Observe(s.AggregationTime.TotalSeconds);
        _roundCloseSeconds.Observe(s.PublishTime.TotalSeconds);
    }

    private void UpdateFromSnapshot()
    {
        _bytes.WithLabels("in").IncTo(_bytesReceived());
        _bytes.WithLabels("out").IncTo(_engine.BytesSent);
        var s = _snapshots.Current.Status;
        _round.Set(s.Round);
        _version.Set(s.Version);
        _evalLoss.Set(s.LastEvalLoss ?? double.NaN);
        _optimalLoss.Set(s.OptimalLoss ?? double.NaN);
        _activeVolunteers.Set(s.ActiveVolunteers);
        _volunteers.WithLabels("banned").Set(s.BannedVolunteers);
        _volunteers.WithLabels("known").Set(s.Volunteers);
        _leasedUnits.Set(s.LeasedWorkUnits);
        _tokensPerSecond.Set(s.TokensPerSecond);
    }

    public void Dispose()
    {
        _engine.UpdateDecided -= OnUpdateDecided;
        _engine.RoundClosed -= OnRoundClosed;
        _meterAdapter.Dispose();
    }
}
