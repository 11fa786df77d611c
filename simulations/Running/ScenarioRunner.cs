using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Running;

/// <summary>Runs a scale-mode scenario: every sweep point, then every cluster-matching search.</summary>
public static class ScenarioRunner
{
    private const double SecondsPerMinute = 60;
    private const double BytesPerGiB = 1024.0 * 1024 * 1024;

    /// <summary>Runs <paramref name="scenario"/>; <paramref name="progress"/> hears (steps done, steps in all, what just ran).</summary>
    public static ScenarioOutcome Run(Scenario scenario, bool smoke, Action<int, int, string>? progress = null)
    {
        if (scenario.Mode == ScenarioMode.Faithful)
        {
            throw new ScenarioException($"scenario {scenario.Name}: mode \"faithful\" runs through Faithful.FaithfulRunner, not the scale runner; call FaithfulRunner.Run (the `run` command does)");
        }

        var effective = smoke ? WithSmoke(scenario) : scenario;
        var table = new DeviceTable(effective.Devices.Select(d => d.ToSpec()));
        var baseConfig = BaseConfig(effective, table);
        var points = Points(effective.Sweep).ToList();
        var matchJobs = MatchJobs(effective, table).ToList();
        int total = points.Count + matchJobs.Count, done = 0;

        var rows = new List<SweepRow>();
        foreach (var point in points)
        {
            var config = Apply(baseConfig, point, table);
            rows.Add(new SweepRow(point, config, ScaleSimulation.Run(config)));
            progress?.Invoke(++done, total, Describe(point));
        }

        var matches = new List<ClusterMatch>();
        foreach (var job in matchJobs)
        {
            matches.Add(job());
            progress?.Invoke(++done, total, $"{matches[^1].Device} @ {matches[^1].LinkMbps} Mb/s vs {matches[^1].Cluster}");
        }

        return new ScenarioOutcome(effective, smoke, baseConfig, rows, matches);
    }

    /// <summary>The scenario with its "smoke" values in place.</summary>
    public static Scenario WithSmoke(Scenario s)
    {
        if (s.Smoke is not { } smoke)
        {
            return s;
        }

        return s with
        {
            Volunteers = s.Volunteers with { Count = smoke.Volunteers ?? s.Volunteers.Count },
            Round = s.Round with { Rounds = smoke.Rounds ?? s.Round.Rounds },
            Sweep = s.Sweep is null ? null : s.Sweep with { Volunteers = smoke.SweepVolunteers ?? s.Sweep.Volunteers },
            ClusterMatch = s.ClusterMatch is null ? null : s.ClusterMatch with
            {
                MaxVolunteers = smoke.MaxVolunteers ?? s.ClusterMatch.MaxVolunteers,
                Rounds = smoke.Rounds ?? s.ClusterMatch.Rounds,
            },
        };
    }

    /// <summary>The scenario's base configuration, before any sweep axis is applied.</summary>
    public static ScaleConfig BaseConfig(Scenario s, DeviceTable table) => new()
    {
        Model = new ModelCost(s.Model.ToShape()),
        InnerSteps = s.Training.InnerSteps,
        TokensPerStep = s.Training.TokensPerStep,
        Precision = s.Training.Precision,
        ExpertsPerShard = s.Training.ExpertsPerShard,
        Upload = s.Codec.Upload,
        Download = s.Codec.Download,
        UploadDensity = s.Codec.Density,
        DownloadDensity = s.Codec.DownloadDensity,
        SeedDownloads = s.Codec.SeedDownloads,
        Volunteers = s.Volunteers.Count,
        DeviceMix = s.Volunteers.Devices.Select(d => (table[d.Device], d.Weight)).ToList(),
        DownloadMbps = s.Volunteers.DownloadMbps,
        UploadMbps = s.Volunteers.UploadMbps ?? s.Volunteers.DownloadMbps,
        LatencyMs = s.Volunteers.LatencyMs,
        SessionHours = s.Volunteers.SessionHours,
        OfflineHours = s.Volunteers.OfflineHours,
        StragglerFraction = s.Volunteers.Stragglers.Fraction,
        StragglerSlowdown = s.Volunteers.Stragglers.Slowdown,
        RelayFraction = s.Volunteers.RelayFraction,
        RelayUploadShare = s.Volunteers.RelayUploadShare,
        Rounds = s.Round.Rounds,
        Quorum = s.Round.Quorum,
        DeadlineSeconds = s.Round.DeadlineMinutes * SecondsPerMinute,
        Aggregator = s.Round.Aggregator,
        CoordinatorMbps = s.Coordinator.LinkMbps,
        AggregationCores = s.Coordinator.AggregationCores,
        CoordinatorMemoryBytes = s.Coordinator.MemoryGiB is { } gib ? gib * BytesPerGiB : double.PositiveInfinity,
        Seed = s.Seed,
    };

    /// <summary>The cartesian product of the sweep's non-empty axes (one point with no overrides when there is no sweep).</summary>
    public static IEnumerable<SweepPoint> Points(SweepSection? sweep)
    {
        IEnumerable<T?> Axis<T>(List<T>? values)
            where T : struct => values is { Count: > 0 } ? values.Select(v => (T?)v) : [null];
        IEnumerable<string?> Names(List<string>? values) => values is { Count: > 0 } ? values.Select(v => (string?)v) : new string?[] { null };

        return from device in Names(sweep?.Devices)
               from volunteers in Axis(sweep?.Volunteers)
               from bandwidth in Axis(sweep?.BandwidthMbps)
               from h in Axis(sweep?.InnerSteps)
               from codec in Axis(sweep?.Codec)
               select new SweepPoint(volunteers, bandwidth, h, codec, device);
    }

    /// <summary>The base configuration with <paramref name="point"/>'s axis values in place.</summary>
    public static ScaleConfig Apply(ScaleConfig b, SweepPoint point, DeviceTable table) => b with
    {
        Volunteers = point.Volunteers ?? b.Volunteers,
        DownloadMbps = point.BandwidthMbps is { } bw ? b.DownloadMbps.WithCenter(bw) : b.DownloadMbps,
        // An asymmetric link keeps its ratio: the upload centre moves by the factor the download centre moves.
        UploadMbps = point.BandwidthMbps is { } up ? b.UploadMbps.WithCenter(b.UploadMbps.Center * up / b.DownloadMbps.Center) : b.UploadMbps,
        InnerSteps = point.InnerSteps ?? b.InnerSteps,
        Upload = point.Codec ?? b.Upload,
        DeviceMix = point.Device is { } d ? [(table[d], 1.0)] : b.DeviceMix,
    };

    private static IEnumerable<Func<ClusterMatch>> MatchJobs(Scenario s, DeviceTable table)
    {
        if (s.ClusterMatch is not { } m)
        {
            yield break;
        }

        var baseConfig = BaseConfig(s, table) with { Rounds = m.Rounds ?? s.Round.Rounds };
        int minimum = ScenarioValidator.MinimumVolunteers(s.Model, s.Training);
        foreach (var device in m.Devices)
        {
            foreach (double link in m.LinkMbps)
            {
                foreach (var c in m.Clusters)
                {
                    var spec = table[c.Device];
                    var target = new ClusterTarget(c.Name, spec, c.Count, c.Utilization ?? spec.Utilization);
                    var point = new SweepPoint(null, link, null, null, device);
                    yield return () => ClusterMatcher.Find(
                        n => Apply(baseConfig, point with { Volunteers = n }, table), target, minimum, m.MaxVolunteers, device, link);
                }
            }
        }
    }

    private static string Describe(SweepPoint p) => string.Join(", ", new[]
    {
        p.Device, p.Volunteers is { } v ? $"{v} volunteers" : null, p.BandwidthMbps is { } b ? $"{b} Mb/s" : null,
        p.InnerSteps is { } h ? $"H={h}" : null, p.Codec is { } c ? KebabEnumConverter.NameOf(c) : null,
    }.Where(x => x is not null));
}
